//! `chatd::config::Config::parse` on arbitrary text (a config file is
//! written by the admin, but a wrong one must be refused by file and line,
//! never crash the daemon or its reload). Never panics; an accepted config
//! validates, and written back as TOML it parses to the same config.
#![no_main]

use std::path::Path;

use chatd::config::Config;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let origin = Path::new("/etc/chatd/chatd.toml");
    match Config::parse(text, origin) {
        Ok(config) => {
            assert!(config.validate().is_ok());
            let written = toml::to_string(&config).expect("a config writes as TOML");
            let again = Config::parse(&written, origin)
                .unwrap_or_else(|e| panic!("a written config parses: {e}\n{written}"));
            assert_eq!(again, config);
        }
        Err(e) => {
            let message = e.to_string();
            assert!(!message.is_empty());
        }
    }
});
