//! Index definitions by kind, named after the fields they cover: the vocabulary of
//! every collection's indexes (a leaf: it imports nothing of this crate).

use std::time::Duration;

use mongodb::IndexModel;
use mongodb::bson::doc;
use mongodb::options::IndexOptions;

/// Sparse on `field` (documents without it are not indexed), unique or not, named
/// `<field>_sparse_unique` or `<field>_sparse`.
pub(crate) fn sparse(field: &str, unique: bool) -> IndexModel {
    let suffix = if unique { "_sparse_unique" } else { "_sparse" };
    IndexModel::builder()
        .keys(doc! { field: 1 })
        .options(
            IndexOptions::builder()
                .name(format!("{field}{suffix}"))
                .unique(unique.then_some(true))
                .sparse(true)
                .build(),
        )
        .build()
}

/// Ascending on `field`, named `<field>_1`.
pub(crate) fn ascending(field: &str) -> IndexModel {
    IndexModel::builder()
        .keys(doc! { field: 1 })
        .options(IndexOptions::builder().name(format!("{field}_1")).build())
        .build()
}

/// Unique on `field`, named `<field>_unique`.
pub(crate) fn unique(field: &str) -> IndexModel {
    IndexModel::builder()
        .keys(doc! { field: 1 })
        .options(
            IndexOptions::builder()
                .name(format!("{field}_unique"))
                .unique(true)
                .build(),
        )
        .build()
}

/// TTL on `expiresAt`: the server removes a document once its expiry has passed
/// (readers still check expiry themselves; the TTL monitor runs about once a minute).
pub(crate) fn expires_at_ttl() -> IndexModel {
    IndexModel::builder()
        .keys(doc! { "expiresAt": 1 })
        .options(
            IndexOptions::builder()
                .name("expiresAt_ttl".to_owned())
                .expire_after(Duration::ZERO)
                .build(),
        )
        .build()
}

/// Unique on `field` among the documents where it is a string (documents without it,
/// or with `null`, are not indexed and never collide).
pub(crate) fn string_unique(field: &str) -> IndexModel {
    let mut index = unique(field);
    if let Some(options) = index.options.as_mut() {
        options.partial_filter_expression = Some(doc! { field: { "$type": "string" } });
    }
    index
}
