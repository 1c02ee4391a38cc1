#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| fuzz_entries::webhooks::twilio_webhook(data));
