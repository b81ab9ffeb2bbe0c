//! The 18-character resident identity number (GB 11643): 17 digits and a check character
//! (a digit or `X`), with the holder's birth date in characters 7 to 14.

use chrono::NaiveDate;

use crate::{Error, Result};

const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const CHECK: [char; 11] = ['1', '0', 'X', '9', '8', '7', '6', '5', '4', '3', '2'];

/// The shape of a number, for the contract (the check character and the birth date within it
/// are checked too).
pub const PATTERN: &str = "^[0-9]{17}[0-9Xx]$";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NationalId(String);

impl NationalId {
    /// Accepts the number with an upper- or lower-case `x`; stores it upper-case.
    pub fn parse(raw: &str) -> Result<Self> {
        let s = raw.trim().to_ascii_uppercase();
        let invalid = |code: &str, msg: &str| Error::field("national_id", code, msg);
        if s.chars().count() != 18 {
            return Err(invalid("length", "a national ID number has 18 characters"));
        }
        // Checked before splitting: a split inside a multi-byte character would panic.
        if !s.is_ascii() {
            return Err(invalid("format", "the first 17 characters must be digits"));
        }
        let (body, check) = s.split_at(17);
        if !body.bytes().all(|b| b.is_ascii_digit()) {
            return Err(invalid("format", "the first 17 characters must be digits"));
        }
        let sum: u32 = body.bytes().zip(WEIGHTS).map(|(b, w)| u32::from(b - b'0') * w).sum();
        let expected = CHECK[(sum % 11) as usize];
        if !check.starts_with(expected) {
            return Err(invalid("check_digit", "the check character does not match"));
        }
        if Self::birth_date_of(&s).is_none() {
            return Err(invalid("birth_date", "characters 7 to 14 are not a valid date"));
        }
        Ok(Self(s))
    }

    fn birth_date_of(s: &str) -> Option<NaiveDate> {
        NaiveDate::parse_from_str(s.get(6..14)?, "%Y%m%d").ok()
    }

    /// The birth date the number encodes.
    pub fn birth_date(&self) -> Option<NaiveDate> {
        Self::birth_date_of(&self.0)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Builds a valid number from 17 digits by appending the check character.
    pub(crate) fn with_check(body: &str) -> String {
        let sum: u32 = body.bytes().zip(WEIGHTS).map(|(b, w)| u32::from(b - b'0') * w).sum();
        format!("{body}{}", CHECK[(sum % 11) as usize])
    }

    #[test]
    fn accepts_a_number_with_a_correct_check_character() {
        // The standard's own worked example.
        let id = NationalId::parse("11010519491231002x").unwrap();
        assert_eq!(id.as_str(), "11010519491231002X");
        assert_eq!(id.birth_date(), NaiveDate::from_ymd_opt(1949, 12, 31));
    }

    #[test]
    fn refuses_a_wrong_check_character() {
        let good = with_check("42120220150601123");
        let bad = format!("{}{}", &good[..17], if good.ends_with('0') { '1' } else { '0' });
        assert!(NationalId::parse(&good).is_ok());
        assert!(matches!(NationalId::parse(&bad), Err(Error::Validation(e)) if e[0].code == "check_digit"));
    }

    #[test]
    fn refuses_wrong_length_letters_and_impossible_dates() {
        assert!(NationalId::parse("4212022015060112").is_err());
        assert!(NationalId::parse("4212022015060112AB").is_err());
        assert!(NationalId::parse(&with_check("42120220150230123")).is_err());
    }

    #[test]
    fn refuses_eighteen_characters_that_are_not_all_ascii() {
        // Found by the contract fuzzer: this once panicked splitting inside a character.
        for raw in ["øÜÿáĞ\u{a3b07}W\u{e3b07}ÎKĝGB\u{6f0bf}É0å", "4212022015060112３X", "42120220150601123é"]
        {
            assert!(
                matches!(NationalId::parse(raw), Err(Error::Validation(e)) if e[0].code == "format" || e[0].code == "length"),
                "{raw}"
            );
        }
    }
}
