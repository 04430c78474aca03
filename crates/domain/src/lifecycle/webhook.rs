//! [`ReceiveDelivery`]: a signed delivery of one event (a webhook), checked and then
//! applied by the same handler as polled events.

use std::sync::Arc;

use thiserror::Error;

use super::EventOutcome;
use super::handler::LifecycleEvents;
use super::ports::SignedDeliveries;
use crate::failure::Failure;

/// Why a delivery was refused.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum DeliveryError {
    /// The signature is missing, forged, or its time is out of the window: nothing
    /// was applied.
    #[error("the delivery's signature is missing, invalid or out of its time window")]
    InvalidSignature,
    /// The store failed; the sender should deliver again.
    #[error(transparent)]
    Failure(#[from] Failure),
}

/// Receives signed deliveries of events.
#[derive(Clone)]
pub struct ReceiveDelivery {
    deliveries: Arc<dyn SignedDeliveries>,
    handler: LifecycleEvents,
}

impl std::fmt::Debug for ReceiveDelivery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReceiveDelivery").finish_non_exhaustive()
    }
}

impl ReceiveDelivery {
    /// Builds the use case from the signature checker and the handler (whose clock
    /// judges a signature's time window).
    pub fn new(deliveries: Arc<dyn SignedDeliveries>, handler: LifecycleEvents) -> Self {
        Self { deliveries, handler }
    }

    /// Checks the delivery's signature, then applies its event (a second delivery of
    /// an applied event is [`EventOutcome::Duplicate`]). Returns the event's type and
    /// what applying it did.
    ///
    /// # Errors
    /// [`DeliveryError::InvalidSignature`] with nothing applied;
    /// [`DeliveryError::Failure`] when the store failed.
    pub async fn receive(
        &self,
        signature: Option<&str>,
        body: &[u8],
    ) -> Result<(String, EventOutcome), DeliveryError> {
        let Some(event) =
            self.deliveries
                .open(signature.unwrap_or_default(), body, self.handler.clock().now())
        else {
            return Err(DeliveryError::InvalidSignature);
        };
        let outcome = self.handler.apply(&event).await?;
        Ok((event.event_type, outcome))
    }
}
