//! Conversions between the domain's values and BSON shared by every collection: ids as
//! ObjectIds, times as BSON dates, and the collation of e-mail addresses.

use mongodb::bson::DateTime;
use mongodb::bson::oid::ObjectId;
use mongodb::options::{Collation, CollationStrength};
use tether_domain::Timestamp;

/// The driver's ObjectId of a local id's bytes.
pub(crate) fn object_id(bytes: [u8; 12]) -> ObjectId {
    ObjectId::from_bytes(bytes)
}

/// A BSON date of a domain time (milliseconds since the epoch).
pub(crate) fn bson_date(at: Timestamp) -> DateTime {
    DateTime::from_millis(at.millis())
}

/// The collation under which e-mail addresses compare: English, strength 2 (case
/// insensitive, accent sensitive). Queries must use the same collation to use the index.
pub(crate) fn email_collation() -> Collation {
    Collation::builder()
        .locale("en")
        .strength(CollationStrength::Secondary)
        .build()
}
