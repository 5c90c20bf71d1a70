//! CloudWatch's `StandardUnit`s, stored as one byte.

/// A datapoint's unit. `None` is CloudWatch's unit called "None" (what a
/// datum without `Unit` gets), not the absence of one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Unit(u8);

const NAMES: [&str; 27] = [
    "None",
    "Seconds",
    "Microseconds",
    "Milliseconds",
    "Bytes",
    "Kilobytes",
    "Megabytes",
    "Gigabytes",
    "Terabytes",
    "Bits",
    "Kilobits",
    "Megabits",
    "Gigabits",
    "Terabits",
    "Percent",
    "Count",
    "Bytes/Second",
    "Kilobytes/Second",
    "Megabytes/Second",
    "Gigabytes/Second",
    "Terabytes/Second",
    "Bits/Second",
    "Kilobits/Second",
    "Megabits/Second",
    "Gigabits/Second",
    "Terabits/Second",
    "Count/Second",
];

impl Unit {
    pub const NONE: Unit = Unit(0);

    pub fn parse(name: &str) -> Option<Unit> {
        NAMES.iter().position(|known| *known == name).and_then(|index| u8::try_from(index).ok()).map(Unit)
    }

    pub fn name(self) -> &'static str {
        NAMES.get(usize::from(self.0)).copied().unwrap_or("None")
    }

    pub fn code(self) -> u8 {
        self.0
    }

    pub fn from_code(code: u8) -> Option<Unit> {
        (usize::from(code) < NAMES.len()).then_some(Unit(code))
    }
}

impl Default for Unit {
    fn default() -> Self {
        Unit::NONE
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_round_trips() {
        for name in NAMES {
            let unit = Unit::parse(name).expect("known");
            assert_eq!(unit.name(), name);
            assert_eq!(Unit::from_code(unit.code()), Some(unit));
        }
        assert_eq!(Unit::parse("Furlongs"), None);
        assert_eq!(Unit::from_code(27), None);
    }
}
