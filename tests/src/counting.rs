//! Stores that count what is asked of them: tests of rollup-backed endpoints show the
//! number of reads does not grow with the number of events.

use async_trait::async_trait;
use dealpulse_domain::counters::{CounterBucket, CounterKey, CounterRepository};
use dealpulse_domain::ids::{ListingId, ProductId, UserId};
use dealpulse_domain::listing::{Listing, PricePoint, TrackedProduct};
use dealpulse_domain::ports::{CatalogRepository, StoreError};
use dealpulse_domain::records::{Document, DocumentRepository};
use jiff::Timestamp;
use std::sync::atomic::{AtomicUsize, Ordering};

pub struct CountingDocuments<'a> {
    inner: &'a dyn DocumentRepository,
    reads: AtomicUsize,
}

impl<'a> CountingDocuments<'a> {
    pub fn new(inner: &'a dyn DocumentRepository) -> Self {
        Self {
            inner,
            reads: AtomicUsize::new(0),
        }
    }

    /// Reads so far: single documents, lists and scans each count one.
    pub fn reads(&self) -> usize {
        self.reads.load(Ordering::SeqCst)
    }

    fn read(&self) {
        self.reads.fetch_add(1, Ordering::SeqCst);
    }
}

#[async_trait]
impl DocumentRepository for CountingDocuments<'_> {
    async fn insert_document(
        &self,
        document: &Document,
        limit: Option<u32>,
    ) -> Result<(), StoreError> {
        self.inner.insert_document(document, limit).await
    }
    async fn document(
        &self,
        kind: &'static str,
        owner: UserId,
        key: &str,
    ) -> Result<Option<Document>, StoreError> {
        self.read();
        self.inner.document(kind, owner, key).await
    }
    async fn documents(
        &self,
        kind: &'static str,
        owner: UserId,
    ) -> Result<Vec<Document>, StoreError> {
        self.read();
        self.inner.documents(kind, owner).await
    }
    async fn documents_before(
        &self,
        kind: &'static str,
        owner: UserId,
        before: Option<&str>,
        limit: u32,
    ) -> Result<Vec<Document>, StoreError> {
        self.read();
        self.inner
            .documents_before(kind, owner, before, limit)
            .await
    }
    async fn documents_from(
        &self,
        kind: &'static str,
        owner: UserId,
        from: &str,
        limit: u32,
    ) -> Result<Vec<Document>, StoreError> {
        self.read();
        self.inner.documents_from(kind, owner, from, limit).await
    }
    async fn update_document(&self, document: &Document) -> Result<Document, StoreError> {
        self.inner.update_document(document).await
    }
    async fn delete_document(
        &self,
        kind: &'static str,
        owner: UserId,
        key: &str,
        expected_version: Option<u64>,
    ) -> Result<(), StoreError> {
        self.inner
            .delete_document(kind, owner, key, expected_version)
            .await
    }
    async fn count_documents(&self, kind: &'static str, owner: UserId) -> Result<u32, StoreError> {
        self.read();
        self.inner.count_documents(kind, owner).await
    }
    async fn all_documents(&self, kind: &'static str) -> Result<Vec<Document>, StoreError> {
        self.read();
        self.inner.all_documents(kind).await
    }
}

/// A counter store that counts round trips (one per call, whatever the number of keys).
pub struct CountingCounters<'a> {
    inner: &'a dyn CounterRepository,
    reads: AtomicUsize,
}

impl<'a> CountingCounters<'a> {
    pub fn new(inner: &'a dyn CounterRepository) -> Self {
        Self {
            inner,
            reads: AtomicUsize::new(0),
        }
    }

    pub fn reads(&self) -> usize {
        self.reads.load(Ordering::SeqCst)
    }
}

#[async_trait]
impl CounterRepository for CountingCounters<'_> {
    async fn add_counts(&self, changes: &[(CounterKey, i64)]) -> Result<(), StoreError> {
        self.inner.add_counts(changes).await
    }
    async fn keep_extremes(
        &self,
        offers: &[(CounterKey, dealpulse_domain::analytics::Extreme, i64)],
    ) -> Result<(), StoreError> {
        self.inner.keep_extremes(offers).await
    }
    async fn counts(&self, keys: &[CounterKey]) -> Result<Vec<i64>, StoreError> {
        self.reads.fetch_add(1, Ordering::SeqCst);
        self.inner.counts(keys).await
    }
    async fn counts_with_prefix(
        &self,
        bucket: &CounterBucket,
        prefix: &str,
    ) -> Result<Vec<(String, i64)>, StoreError> {
        self.reads.fetch_add(1, Ordering::SeqCst);
        self.inner.counts_with_prefix(bucket, prefix).await
    }
}

/// A catalogue that counts reads (products, price points, listings), one per call.
pub struct CountingCatalog<'a> {
    inner: &'a dyn CatalogRepository,
    reads: AtomicUsize,
}

impl<'a> CountingCatalog<'a> {
    pub fn new(inner: &'a dyn CatalogRepository) -> Self {
        Self {
            inner,
            reads: AtomicUsize::new(0),
        }
    }

    pub fn reads(&self) -> usize {
        self.reads.load(Ordering::SeqCst)
    }

    fn read(&self) {
        self.reads.fetch_add(1, Ordering::SeqCst);
    }
}

#[async_trait]
impl CatalogRepository for CountingCatalog<'_> {
    async fn insert_product(&self, product: &TrackedProduct) -> Result<TrackedProduct, StoreError> {
        self.inner.insert_product(product).await
    }
    async fn product_by_id(&self, id: ProductId) -> Result<Option<TrackedProduct>, StoreError> {
        self.read();
        self.inner.product_by_id(id).await
    }
    async fn product_by_url(&self, url: &str) -> Result<Option<TrackedProduct>, StoreError> {
        self.read();
        self.inner.product_by_url(url).await
    }
    async fn append_price_point(&self, point: &PricePoint) -> Result<(), StoreError> {
        self.inner.append_price_point(point).await
    }
    async fn price_points(
        &self,
        product: ProductId,
        from: Timestamp,
        to: Timestamp,
        limit: u32,
    ) -> Result<Vec<PricePoint>, StoreError> {
        self.read();
        self.inner.price_points(product, from, to, limit).await
    }
    async fn put_listing(&self, listing: &Listing) -> Result<(), StoreError> {
        self.inner.put_listing(listing).await
    }
    async fn listing_by_id(&self, id: ListingId) -> Result<Option<Listing>, StoreError> {
        self.read();
        self.inner.listing_by_id(id).await
    }
    async fn listings_seen_since(
        &self,
        since: Timestamp,
        limit: u32,
    ) -> Result<Vec<Listing>, StoreError> {
        self.read();
        self.inner.listings_seen_since(since, limit).await
    }
}
