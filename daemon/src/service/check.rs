//! The checks a start makes before it serves, which `--check-config` and a
//! reload make too.

use crate::Error;
use crate::config::{Config, ConfigError};
use crate::{admin, logging};

/// What the configuration names that only this machine can confirm: the
/// log filter parses and the admin group exists (its gid is returned).
/// Checked at start, by `--check-config` and on reload, so that neither a
/// check nor a reload passes a configuration that the next start would
/// refuse.
pub fn check_machine(config: &Config) -> Result<Option<u32>, ConfigError> {
    logging::filter(&config.log_level)?;
    match &config.admin_group {
        Some(name) => Ok(Some(
            admin::peer::group_gid(name).ok_or_else(|| ConfigError::NoSuchGroup(name.clone()))?,
        )),
        None => Ok(None),
    }
}

/// `--check-config`: the settings in force as TOML (no secrets), after the
/// checks a start would make: the machine's (log filter, admin group) and
/// the password file's readability.
pub fn check_config(source: Option<&std::path::Path>, config: &Config) -> Result<String, Error> {
    use std::fmt::Write as _;
    let mut text = String::new();
    match source {
        Some(path) => writeln!(
            text,
            "# configuration from {} with command-line flags applied",
            path.display()
        ),
        None => writeln!(
            text,
            "# no configuration file: built-in defaults with command-line flags applied"
        ),
    }
    .expect("writing to a String");
    check_machine(config)?;
    if let Some(file) = &config.password_file {
        crate::store::password::read_password_file(file)?;
        text.push_str("# the password file is readable (its content is not shown)\n");
    }
    text.push_str(&toml::to_string(config).expect("the configuration always serializes"));
    Ok(text)
}
