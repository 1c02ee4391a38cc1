//! The configured channels: the one place a channel is registered.

use std::sync::Arc;

use schemas::ChannelKind;

use crate::Channel;
use crate::meta::{Meta, MetaConfig};
use crate::twilio::{Twilio, TwilioConfig};

/// The configuration of every channel; a channel whose configuration is absent is off.
#[derive(Clone, Debug, Default)]
pub struct ChannelsConfig {
    pub meta: Option<MetaConfig>,
    pub twilio: Option<TwilioConfig>,
}

/// The configured channels.
#[derive(Clone, Default)]
pub struct Channels {
    all: Vec<Arc<dyn Channel>>,
}

impl Channels {
    /// Every channel whose configuration is present.
    pub fn from_config(config: &ChannelsConfig, http: &reqwest::Client) -> Channels {
        let mut all: Vec<Arc<dyn Channel>> = Vec::new();
        if let Some(meta) = &config.meta {
            all.push(Arc::new(Meta::new(meta.clone(), http.clone())));
        }
        if let Some(twilio) = &config.twilio {
            all.push(Arc::new(Twilio::new(twilio.clone(), http.clone())));
        }
        Channels { all }
    }

    /// These channels and `channel` (a platform configured elsewhere, such as a test's).
    pub fn with(mut self, channel: Arc<dyn Channel>) -> Channels {
        self.all.push(channel);
        self
    }

    pub fn get(&self, kind: ChannelKind) -> Option<&Arc<dyn Channel>> {
        self.all.iter().find(|c| c.kind() == kind)
    }

    pub fn iter(&self) -> impl Iterator<Item = &Arc<dyn Channel>> {
        self.all.iter()
    }
}
