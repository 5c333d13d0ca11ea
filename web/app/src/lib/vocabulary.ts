// The API's closed vocabularies (shared/domain), for selects and chips.

export const CATEGORIES = [
  "electronics", "computers", "gaming", "phones", "audio", "cameras", "tv", "home", "kitchen",
  "garden", "tools", "fashion", "sports", "outdoors", "toys", "books", "media", "health", "beauty",
  "grocery", "automotive", "baby", "pets", "office", "furniture", "flights", "hotels", "travel",
  "other",
] as const;

export const CONDITIONS = ["new", "like_new", "good", "fair", "refurbished", "used"] as const;
export const CHANNELS = ["email", "discord", "slack", "webhook", "sms", "push"] as const;
export const FREQUENCIES = ["immediate", "daily", "weekly"] as const;
export const CABINS = ["economy", "premium_economy", "business", "first"] as const;
export const WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"] as const;

export type Channel = (typeof CHANNELS)[number];

/** `like_new` → "Like new". */
export function label(word: string): string {
  const text = word.replace(/_/g, " ");
  return text.charAt(0).toUpperCase() + text.slice(1);
}
