#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| fuzz_entries::national_file::covid_rows(data));
