//! Lengths of time as people type them on a command line, one rule for both binaries: a bare
//! number is seconds (as kubectl's `--request-timeout` takes it), else `90s`, `5m`, `1h30m`.
//! clap parses flags straight into [`HumanDuration`], so a bad value is a usage error that names
//! the flag.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// Why a text is not a duration; the message says how to write one.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DurationError {
    #[error(
        "{text:?} is not a duration ({why}): write it as 30s, 5m or 1h30m (a bare number is seconds)"
    )]
    Invalid { text: String, why: String },
    #[error("{text:?} is no time at all: give a duration above zero, such as 30s")]
    Zero { text: String },
}

/// A duration read from `90`, `90s`, `5m` or `1h30m`. Displays as it would be typed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct HumanDuration(Duration);

impl HumanDuration {
    pub const fn from_secs(seconds: u64) -> Self {
        HumanDuration(Duration::from_secs(seconds))
    }

    pub fn get(self) -> Duration {
        self.0
    }

    pub fn is_zero(self) -> bool {
        self.0.is_zero()
    }

    /// For flags where zero makes no sense (`--timeout 0` would give up at once): a clap
    /// `value_parser`.
    pub fn positive(text: &str) -> Result<Self, DurationError> {
        let duration: HumanDuration = text.parse()?;
        if duration.is_zero() {
            return Err(DurationError::Zero {
                text: text.to_string(),
            });
        }
        Ok(duration)
    }
}

impl FromStr for HumanDuration {
    type Err = DurationError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let trimmed = text.trim();
        if let Ok(seconds) = trimmed.parse::<u64>() {
            return Ok(HumanDuration::from_secs(seconds));
        }
        humantime::parse_duration(trimmed)
            .map(HumanDuration)
            .map_err(|e| DurationError::Invalid {
                text: text.to_string(),
                why: e.to_string(),
            })
    }
}

impl From<Duration> for HumanDuration {
    fn from(duration: Duration) -> Self {
        HumanDuration(duration)
    }
}

impl fmt::Display for HumanDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_zero() {
            return f.write_str("0s");
        }
        write!(f, "{}", humantime::format_duration(self.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Duration, DurationError> {
        text.parse::<HumanDuration>().map(HumanDuration::get)
    }

    #[test]
    fn bare_numbers_are_seconds_and_units_are_humantime() {
        assert_eq!(parse("0").unwrap(), Duration::ZERO);
        assert_eq!(parse("5").unwrap(), Duration::from_secs(5));
        assert_eq!(parse(" 90s ").unwrap(), Duration::from_secs(90));
        assert_eq!(parse("1m").unwrap(), Duration::from_secs(60));
        assert_eq!(parse("1h30m").unwrap(), Duration::from_secs(5400));
        assert_eq!(parse("250ms").unwrap(), Duration::from_millis(250));
    }

    #[test]
    fn bad_text_says_how_to_write_a_duration() {
        let error = parse("soon").unwrap_err().to_string();
        assert!(error.starts_with("\"soon\" is not a duration ("), "{error}");
        assert!(error.ends_with("write it as 30s, 5m or 1h30m (a bare number is seconds)"));
        for bad in ["", "-5", "5 parsecs", "1.5.2m"] {
            assert!(parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn positive_refuses_zero() {
        assert_eq!(
            HumanDuration::positive("0s").unwrap_err(),
            DurationError::Zero { text: "0s".into() }
        );
        assert_eq!(
            HumanDuration::positive("15s").unwrap().get(),
            Duration::from_secs(15)
        );
    }

    #[test]
    fn displays_as_typed() {
        assert_eq!(HumanDuration::from_secs(300).to_string(), "5m");
        assert_eq!(HumanDuration::from_secs(5400).to_string(), "1h 30m");
        assert_eq!(HumanDuration::default().to_string(), "0s");
    }
}
