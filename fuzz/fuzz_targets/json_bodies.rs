//! Every JSON body the system parses, through the parse path its consumer uses: the first byte
//! picks the body type, the rest is the body. The HTTP API's bodies go through
//! `dealpulse_api::fuzzing::parse_body` (the request extractor's `parse_json`, then the
//! handler's own conversion into domain types); the queue messages through the functions'
//! parse. Nothing may panic, and no body may make the API answer 500 (an internal error
//! raised while checking client input is a bug too). Queue messages that parse must survive
//! a round trip through the serialiser their producers use.
//!
//! Selectors (first byte modulo 47):
//!
//!  0 POST /api/v1/auth/register: RegisterRequest, NewAccount::try_from
//!  1 POST /api/v1/auth/verify-email: TokenRequest, TokenKeys::verify_link
//!  2 POST /api/v1/auth/resend-verification, /api/v1/auth/password/forgot: EmailRequest, Email::parse
//!  3 POST /api/v1/auth/login: LoginRequest, Email::parse
//!  4 POST /api/v1/auth/refresh: RefreshRequest, TokenHash::of
//!  5 POST /api/v1/auth/password/reset: ResetPasswordRequest, Password::parse, TokenKeys::verify_link
//!  6 PATCH /api/v1/me: UpdateProfileRequest, account::apply_profile
//!  7 DELETE /api/v1/me: ConfirmPasswordRequest (typed parse only)
//!  8 POST /api/v1/me/password: ChangePasswordRequest, Password::parse
//!  9 POST /api/v1/me/api-keys: CreateApiKeyRequest, ApiKeyName::parse, account::key_scopes
//! 10 POST /api/v1/deal-alert-rules: RuleRequest, rules::apply (creating)
//! 11 PATCH /api/v1/deal-alert-rules/{id}: RuleRequest, rules::apply (editing)
//! 12 POST /api/v1/deal-alert-rules/{id}/test: TestRuleRequest (typed parse only)
//! 13 POST /api/v1/deal-alert-rules/bulk: BulkRequest, rules::bulk_action_of
//! 14 POST /api/v1/deal-alert-rules/parse-query: ParseQueryRequest, rules::parse_query_request
//! 15 POST /api/v1/deals/{id}/reports: ReportBody, reports::parse_report
//! 16 POST /api/v1/admin/reports/{id}/close: CloseBody, reports::parse_close
//! 17 POST /api/v1/admin/reports/{id}/reopen: ReopenBody, reports::parse_note
//! 18 POST /api/v1/admin/reports/bulk: ReportBulkBody, reports::bulk_target
//! 19 PATCH /api/v1/notification-preferences/channels: ChannelsRequest (typed parse only)
//! 20 PATCH /api/v1/notification-preferences/frequency: FrequencyRequest, preferences::apply_frequency
//! 21 PATCH /api/v1/notification-preferences/quiet-hours: QuietHoursRequest, preferences::apply_quiet_hours
//! 22 POST /api/v1/notification-preferences/endpoints: CreateEndpointRequest, preferences::parse_new_endpoint
//! 23 PATCH /api/v1/notification-preferences/endpoints/{id}: UpdateEndpointRequest, preferences::apply_endpoint_update
//! 24 POST /api/v1/notification-preferences/phone: PhoneRequest, PhoneNumber::parse
//! 25 POST /api/v1/notification-preferences/phone/verify: VerifyPhoneRequest (typed parse only)
//! 26 POST /api/v1/push/subscriptions: SubscribeRequest, preferences::parse_push_subscription
//! 27 DELETE /api/v1/push/subscriptions: UnsubscribeRequest, PublicUrl::parse
//! 28 POST /api/v1/admin/users/{id}/suspend, /activate: StatusChangeBody (typed parse only)
//! 29 POST /api/v1/watchlist/items: CreateWatchRequest, watchlist::parse_new_watch
//! 30 PATCH /api/v1/watchlist/items/{id}: UpdateWatchRequest, watchlist::apply_watch_update
//! 31 POST /api/v1/watchlist/preview: PreviewRequest, FetchableUrl::parse
//! 32 POST /api/v1/billing/checkout: CheckoutBody, Plan::parse
//! 33 POST /api/v1/billing/cancel: CancelBody (typed parse only)
//! 34 POST /api/v1/billing/plan: PlanChangeBody, Plan::parse
//! 35 POST /api/v1/admin/subscriptions/{id}/cancel: AdminCancelBody (typed parse only)
//! 36 POST /api/v1/billing/stripe/webhook: raw body, billing::verify (signed here), StripeEvent::parse
//! 37 POST /api/v1/newsletter/subscribe: SubscribeRequest, Email::parse
//! 38 POST /api/v1/ingest/listings: PushListingsRequest, ingest::parse_push
//! 39 POST /api/v1/ingest/feeds: CreateFeedRequest, ingest::parse_new_feed
//! 40 PATCH /api/v1/ingest/feeds/{id}: UpdateFeedRequest, ingest::apply_feed_update
//! 41 PUT /api/v1/ingest/inbound-address: InboundSendersRequest, ingest::parse_senders
//! 42 PUT /api/v1/ingest/hosts/{host}/selectors: SelectorOverrides, ingest::check_host_selectors
//! 43 POST /api/v1/ingest/products: TrackProductRequest, ingest::parse_track
//! 44 POST /api/v1/admin/deliveries/dead-letters/redrive: RedriveRequest (typed parse only)
//! 45 deliveries queue message: DeliveryTask::parse (deliver function, local delivery pump)
//! 46 catalogue event, EventBridge to the match queue: serde_json::from_str::<EventEnvelope>
//!    (match function, local event pump)
#![no_main]

use dealpulse_alerts::model::DeliveryTask;
use dealpulse_api::fuzzing::{parse_body, BODIES};
use dealpulse_api::problem::ApiError;
use dealpulse_domain::events::EventEnvelope;
use libfuzzer_sys::fuzz_target;

/// The API's bodies, then the two queue messages.
const SELECTORS: usize = BODIES.len() + 2;

fuzz_target!(|data: &[u8]| {
    let Some((&selector, body)) = data.split_first() else {
        return;
    };
    let which = usize::from(selector) % SELECTORS;
    if which < BODIES.len() {
        if let Err(ApiError::Internal(why)) = parse_body(which, body) {
            panic!("{}: a 500 for client input: {why}", BODIES[which]);
        }
        return;
    }
    // SQS message bodies are text.
    let Ok(text) = std::str::from_utf8(body) else {
        return;
    };
    if which == BODIES.len() {
        if let Ok(task) = DeliveryTask::parse(text) {
            let again = DeliveryTask::parse(&task.to_body());
            assert!(again.as_ref().ok() == Some(&task), "{again:?} != {task:?}");
        }
    } else if let Ok(event) = serde_json::from_str::<EventEnvelope>(text) {
        let body = serde_json::to_string(&event).expect("an event serialises");
        let again = serde_json::from_str::<EventEnvelope>(&body);
        assert!(
            again.as_ref().ok() == Some(&event),
            "{again:?} != {event:?}"
        );
    }
});
