//! In-process event bus for the embedded default: every subscriber sees every event.
//!
//! It keeps nothing: durability in the embedded platform comes from the job store, and
//! events here only wake the workers up.

use async_trait::async_trait;
use tokio::sync::broadcast;

use super::{Event, EventBus, EventBusError};

#[derive(Clone)]
pub struct MemoryEventBus {
    sender: broadcast::Sender<Event>,
}

impl MemoryEventBus {
    pub fn new() -> Self {
        Self { sender: broadcast::channel(1024).0 }
    }

    /// Events published from now on. A slow subscriber may miss events (it gets `Lagged`).
    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.sender.subscribe()
    }
}

impl Default for MemoryEventBus {
    fn default() -> Self {
        Self::new()
    }
}

#[async_trait]
impl EventBus for MemoryEventBus {
    async fn publish(&self, event: Event) -> Result<(), EventBusError> {
        // No subscriber is not an error: the job store still holds the work.
        let _ = self.sender.send(event);
        Ok(())
    }
}
