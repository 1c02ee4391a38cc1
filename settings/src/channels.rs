//! `[channels.meta]` and `[channels.twilio]`: the messaging platforms.

use serde::Deserialize;

use crate::error::field;
use crate::values::{check_url, string_list};
use crate::{ConfigError, Secret};

/// The messaging platforms.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ChannelsSettings {
    pub meta: MetaSettings,
    pub twilio: TwilioSettings,
}

/// Meta's WhatsApp Cloud API.
#[derive(Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MetaSettings {
    /// Secret: the App Secret that signs webhooks (`X-Hub-Signature-256`).
    pub app_secret: Option<Secret>,
    /// Secret: the token typed into App Dashboard › WhatsApp › Configuration.
    pub verify_token: Option<Secret>,
    /// Secret: the system-user token for the Graph API.
    pub access_token: Option<Secret>,
    /// The business numbers we answer from (`phone_number_id`); in the environment, a
    /// comma-separated list. A message to any other number is skipped. Empty: Meta is off.
    #[serde(deserialize_with = "string_list")]
    pub phone_number_ids: Vec<String>,
    /// The Graph API's address (a local fake in tests).
    pub graph_base_url: String,
    /// The pinned Graph API version.
    pub graph_version: String,
    /// Messages per second per business number, inbound included (Meta's default is 80; up to
    /// 1,000 after Meta's automatic upgrade).
    pub messages_per_second: u32,
    /// Limit on one Graph API call; a call that takes longer is retried later.
    pub graph_timeout_secs: u64,
    /// Send MARKETING templates (Conéctate outside the 24-hour window) through Meta's Marketing
    /// Messages API (`/{phone_number_id}/marketing_messages`) instead of `/messages`; templates
    /// of any other category still go to `/messages`. Turn it on only once the WhatsApp Business
    /// Account accepted the Marketing Messages API's terms.
    pub marketing_messages: bool,
}

impl Default for MetaSettings {
    fn default() -> Self {
        MetaSettings {
            app_secret: None,
            verify_token: None,
            access_token: None,
            phone_number_ids: Vec::new(),
            graph_base_url: "https://graph.facebook.com".into(),
            graph_version: "v23.0".into(),
            messages_per_second: 80,
            graph_timeout_secs: 10,
            marketing_messages: false,
        }
    }
}

/// Twilio's WhatsApp API.
#[derive(Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TwilioSettings {
    /// Secret: the Auth Token that signs webhooks (`X-Twilio-Signature`) and authenticates sends.
    pub auth_token: Option<Secret>,
    /// The public URL Twilio posts incoming messages to, exactly as configured in Twilio (it
    /// is what Twilio signs). Empty: Twilio is off.
    pub public_url: Option<String>,
    /// The public URL of the status callback, exactly as given to Twilio.
    pub status_url: Option<String>,
    /// The account that sends (`AC…`).
    pub account_sid: Option<String>,
    /// The sender, `whatsapp:+…`.
    pub from: Option<String>,
    /// Twilio's REST API address (a local fake in tests).
    pub api_base_url: String,
    /// Limit on one call to Twilio's API; a call that takes longer is retried later.
    pub timeout_secs: u64,
}

impl Default for TwilioSettings {
    fn default() -> Self {
        TwilioSettings {
            auth_token: None,
            public_url: None,
            status_url: None,
            account_sid: None,
            from: None,
            api_base_url: "https://api.twilio.com".into(),
            timeout_secs: 10,
        }
    }
}

impl ChannelsSettings {
    /// Checks what types alone cannot.
    pub(crate) fn validate(&self) -> Result<(), ConfigError> {
        for (name, value) in [
            ("channels.meta.graph_timeout_secs", self.meta.graph_timeout_secs),
            ("channels.twilio.timeout_secs", self.twilio.timeout_secs),
        ] {
            if value == 0 {
                return Err(field(name, "debe ser mayor que 0"));
            }
        }
        let meta = &self.meta;
        if !(1..=1000).contains(&meta.messages_per_second) {
            return Err(field("channels.meta.messages_per_second", "debe estar entre 1 y 1,000"));
        }
        for id in &meta.phone_number_ids {
            if id.is_empty() || !id.bytes().all(|b| b.is_ascii_digit()) {
                return Err(field(
                    "channels.meta.phone_number_ids",
                    format!("«{id}» no es un phone_number_id (solo dígitos)"),
                ));
            }
        }
        check_url("channels.meta.graph_base_url", &meta.graph_base_url, &["http", "https"])?;
        check_url("channels.twilio.api_base_url", &self.twilio.api_base_url, &["http", "https"])?;
        if let Some(url) = &self.twilio.public_url {
            check_url("channels.twilio.public_url", url, &["http", "https"])?;
        }
        if let Some(url) = &self.twilio.status_url {
            check_url("channels.twilio.status_url", url, &["http", "https"])?;
        }
        Ok(())
    }

    /// The longest a send can last: the slower platform's timeout.
    pub(crate) fn send_timeout_secs(&self) -> u64 {
        self.meta.graph_timeout_secs.max(self.twilio.timeout_secs)
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::assert_each_names_its_field;

    #[test]
    fn invalid_values_name_their_field() {
        let cases = [
            ("[channels.meta]\nmessages_per_second = 5000\n", "channels.meta.messages_per_second"),
            ("[channels.meta]\nphone_number_ids = [\"+52 477\"]\n", "channels.meta.phone_number_ids"),
        ];
        assert_each_names_its_field(&cases);
    }
}
