//! The rule that says two records may be the same child, as a pure function (the README's
//! "The duplicate rule" quotes it; the table of cases below holds it).
//!
//! A pair is a candidate only when the names agree in one of these ways, strongest first:
//!
//! | signal | points | meaning |
//! |---|---|---|
//! | `same_name` | 40 | the same characters, after spaces, middle dots and full-width forms are removed and traditional characters are folded to simplified ones (張偉 = 张伟) |
//! | `same_pinyin` | 30 | as many characters, each pair sharing a Mandarin reading without tones, as a pinyin input method types them (张伟 / 章伟; every reading of a character counts, so 单 is both shan and dan) |
//! | `one_character_different` | 20 | as many characters (at least two), all but one the same (张伟 / 张炜 when they do not sound alike) |
//!
//! and then these add to the name's points:
//!
//! | signal | points |
//! |---|---|
//! | `same_birth_date` | 30 |
//! | `birth_date_day_month_swapped` (2015-06-01 / 2015-01-06) | 20 |
//! | `same_sex` | 5 |
//! | `other_sex` | −25 |
//! | `same_household` | 15 |
//! | `same_village` (in another household record, or none) | 10 |
//! | `same_guardian_phone` (a guardian's number, last 11 digits, in two household records) | 15 |
//!
//! A pair scoring [`THRESHOLD`] or more is a possible duplicate. So the same name, birth date and
//! sex is always one; a name that sounds the same with the same birth date and sex is one; a
//! name one character apart needs the birth date, sex and village too; the same name with
//! another birth date needs the household, or the village and a guardian's phone. Twins with
//! two-character names that differ in one character (张明 / 张亮) in one household score 70 and
//! are proposed: a coordinator dismisses the pair once. Twins whose names differ in more are
//! not. A national ID number held by both is a duplicate whatever
//! the score (`duplicates`), and two different valid numbers are never one child.

use std::collections::HashSet;

use chrono::{Datelike, NaiveDate};
use pinyin::ToPinyinMulti;
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::children::Sex;

/// The score at which a pair is a possible duplicate.
pub const THRESHOLD: i32 = 60;

text_enum! {
    /// One way in which two records agree (or disagree), with its points in the rule.
    pub enum Signal {
        /// Both carry the same national ID number.
        SameNationalId => "same_national_id",
        SameName => "same_name",
        SamePinyin => "same_pinyin",
        OneCharacterDifferent => "one_character_different",
        SameBirthDate => "same_birth_date",
        BirthDateDayMonthSwapped => "birth_date_day_month_swapped",
        SameSex => "same_sex",
        OtherSex => "other_sex",
        SameHousehold => "same_household",
        SameVillage => "same_village",
        SameGuardianPhone => "same_guardian_phone",
    }
}

impl Signal {
    pub fn points(self) -> i32 {
        match self {
            Signal::SameNationalId => 100,
            Signal::SameName => 40,
            Signal::SamePinyin => 30,
            Signal::OneCharacterDifferent => 20,
            Signal::SameBirthDate => 30,
            Signal::BirthDateDayMonthSwapped => 20,
            Signal::SameSex => 5,
            Signal::OtherSex => -25,
            Signal::SameHousehold => 15,
            Signal::SameVillage => 10,
            Signal::SameGuardianPhone => 15,
        }
    }
}

/// What the rule compares of a child.
#[derive(Debug, Clone)]
pub struct Profile {
    pub id: Uuid,
    pub name: String,
    pub birth_date: NaiveDate,
    pub sex: Sex,
    pub national_id: Option<String>,
    pub household_id: Option<Uuid>,
    pub region_id: Uuid,
    /// The guardians' phone numbers, as [`phone_key`]s.
    pub phones: Vec<String>,
}

/// A scored pair: the points and the signals that gave them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Likeness {
    /// The sum of the signals' points; 60 or more is a possible duplicate, 100 a shared national
    /// ID number.
    pub score: i32,
    pub signals: Vec<Signal>,
}

/// The name as the rule compares it: no spaces or middle dots, full-width letters and digits
/// folded, traditional characters folded to simplified ones, Latin letters in lower case.
pub fn name_key(name: &str) -> Vec<char> {
    let folded: String = name
        .chars()
        .map(|c| match c {
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            _ => c,
        })
        .filter(|c| !c.is_whitespace() && !matches!(c, '·' | '・' | '•' | '.'))
        .flat_map(char::to_lowercase)
        .collect();
    fast2s::convert(&folded).chars().collect()
}

/// A phone number as the rule compares it: its digits, the last 11 (so `+86 138-0000-0000` and
/// `13800000000` agree); `None` with fewer than 7 digits.
pub fn phone_key(phone: &str) -> Option<String> {
    let digits: Vec<char> = phone.chars().filter(char::is_ascii_digit).collect();
    if digits.len() < 7 {
        return None;
    }
    Some(digits[digits.len().saturating_sub(11)..].iter().collect())
}

fn sound_alike(a: char, b: char) -> bool {
    if a == b {
        return true;
    }
    let (Some(x), Some(y)) = (a.to_pinyin_multi(), b.to_pinyin_multi()) else {
        return false;
    };
    let readings: HashSet<&str> = x.into_iter().map(|p| p.plain()).collect();
    y.into_iter().any(|p| readings.contains(p.plain()))
}

fn name_signal(a: &[char], b: &[char]) -> Option<Signal> {
    if a.is_empty() || b.is_empty() {
        return None;
    }
    if a == b {
        return Some(Signal::SameName);
    }
    if a.len() != b.len() {
        return None;
    }
    if a.iter().zip(b).all(|(x, y)| sound_alike(*x, *y)) {
        return Some(Signal::SamePinyin);
    }
    let differing = a.iter().zip(b).filter(|(x, y)| x != y).count();
    (a.len() >= 2 && differing == 1).then_some(Signal::OneCharacterDifferent)
}

/// The birth date with day and month exchanged, when that is another valid date.
pub fn swapped(d: NaiveDate) -> Option<NaiveDate> {
    if d.day() == d.month() || d.day() > 12 {
        return None;
    }
    NaiveDate::from_ymd_opt(d.year(), d.day(), d.month())
}

/// Scores `a` against `b`; `None` when the names do not agree at all, or the two carry
/// different national ID numbers.
pub fn compare(a: &Profile, b: &Profile) -> Option<Likeness> {
    let mut signals = Vec::new();
    match (&a.national_id, &b.national_id) {
        (Some(x), Some(y)) if x == y => signals.push(Signal::SameNationalId),
        (Some(_), Some(_)) => return None,
        _ => {}
    }
    let name = name_signal(&name_key(&a.name), &name_key(&b.name));
    if signals.is_empty() {
        signals.push(name?);
    } else if let Some(n) = name {
        signals.push(n);
    }
    if a.birth_date == b.birth_date {
        signals.push(Signal::SameBirthDate);
    } else if swapped(a.birth_date) == Some(b.birth_date) {
        signals.push(Signal::BirthDateDayMonthSwapped);
    }
    signals.push(if a.sex == b.sex { Signal::SameSex } else { Signal::OtherSex });
    if a.household_id.is_some() && a.household_id == b.household_id {
        signals.push(Signal::SameHousehold);
    } else {
        if a.region_id == b.region_id {
            signals.push(Signal::SameVillage);
        }
        // One household's guardians are the same people: their phone adds nothing to it.
        if a.phones.iter().any(|p| b.phones.contains(p)) {
            signals.push(Signal::SameGuardianPhone);
        }
    }
    let score = signals.iter().map(|s| s.points()).sum();
    Some(Likeness { score, signals })
}

/// [`compare`], kept only when it reaches the threshold (or the national ID number is shared).
pub fn possible_duplicate(a: &Profile, b: &Profile) -> Option<Likeness> {
    compare(a, b).filter(|l| l.score >= THRESHOLD || l.signals.contains(&Signal::SameNationalId))
}

#[cfg(test)]
mod tests {
    use super::*;

    const VILLAGE: Uuid = Uuid::from_u128(1);
    const OTHER_VILLAGE: Uuid = Uuid::from_u128(2);
    const HOUSEHOLD: Uuid = Uuid::from_u128(3);
    const OTHER_HOUSEHOLD: Uuid = Uuid::from_u128(4);

    fn child(name: &str, born: &str) -> Profile {
        Profile {
            id: Uuid::from_u128(9),
            name: name.into(),
            birth_date: born.parse().unwrap(),
            sex: Sex::Male,
            national_id: None,
            household_id: None,
            region_id: VILLAGE,
            phones: Vec::new(),
        }
    }

    /// The table of cases the README's rule is held to: (what, first, second, expected signals
    /// or `None` for "not a candidate").
    #[test]
    fn the_rule_on_its_table_of_cases() {
        use Signal::*;
        let base = child("张伟", "2015-06-01");
        let with = |f: &dyn Fn(&mut Profile)| {
            let mut p = base.clone();
            f(&mut p);
            p
        };
        let cases: Vec<(&str, Profile, Profile, Option<&[Signal]>)> = vec![
            (
                "same name, birth date, village",
                base.clone(),
                base.clone(),
                Some(&[SameName, SameBirthDate, SameSex, SameVillage]),
            ),
            (
                "traditional characters",
                base.clone(),
                with(&|p| p.name = "張偉".into()),
                Some(&[SameName, SameBirthDate, SameSex, SameVillage]),
            ),
            (
                "spaces and full-width",
                base.clone(),
                with(&|p| p.name = " 张 伟 ".into()),
                Some(&[SameName, SameBirthDate, SameSex, SameVillage]),
            ),
            (
                "same pinyin, other village",
                base.clone(),
                with(&|p| {
                    p.name = "章伟".into();
                    p.region_id = OTHER_VILLAGE;
                }),
                Some(&[SamePinyin, SameBirthDate, SameSex]),
            ),
            (
                "heteronym surname",
                child("单明", "2015-06-01"),
                child("善明", "2015-06-01"),
                Some(&[SamePinyin, SameBirthDate, SameSex, SameVillage]),
            ),
            (
                "one character, same village",
                base.clone(),
                with(&|p| p.name = "张华".into()),
                Some(&[OneCharacterDifferent, SameBirthDate, SameSex, SameVillage]),
            ),
            (
                "one character, other village",
                base.clone(),
                with(&|p| {
                    p.name = "张华".into();
                    p.region_id = OTHER_VILLAGE;
                }),
                None,
            ),
            (
                "day and month swapped",
                base.clone(),
                with(&|p| p.birth_date = "2015-01-06".parse().unwrap()),
                Some(&[SameName, BirthDateDayMonthSwapped, SameSex, SameVillage]),
            ),
            (
                "another birth date, same household",
                with(&|p| p.household_id = Some(HOUSEHOLD)),
                with(&|p| {
                    p.birth_date = "2016-03-09".parse().unwrap();
                    p.household_id = Some(HOUSEHOLD);
                }),
                Some(&[SameName, SameSex, SameHousehold]),
            ),
            (
                "another birth date, village and phone",
                with(&|p| p.phones = vec!["13800000000".into()]),
                with(&|p| {
                    p.birth_date = "2016-03-09".parse().unwrap();
                    p.household_id = Some(OTHER_HOUSEHOLD);
                    p.phones = vec!["13800000000".into()];
                }),
                Some(&[SameName, SameSex, SameVillage, SameGuardianPhone]),
            ),
            (
                "another birth date, village only",
                base.clone(),
                with(&|p| p.birth_date = "2016-03-09".parse().unwrap()),
                None,
            ),
            ("other sex", base.clone(), with(&|p| p.sex = Sex::Female), None),
            (
                "same household, phone counted once",
                with(&|p| {
                    p.household_id = Some(HOUSEHOLD);
                    p.phones = vec!["13800000000".into()];
                }),
                with(&|p| {
                    p.birth_date = "2016-03-09".parse().unwrap();
                    p.household_id = Some(HOUSEHOLD);
                    p.phones = vec!["13800000000".into()];
                }),
                Some(&[SameName, SameSex, SameHousehold]),
            ),
            (
                "twins",
                with(&|p| {
                    p.name = "张明".into();
                    p.household_id = Some(HOUSEHOLD);
                }),
                with(&|p| {
                    p.name = "张亮".into();
                    p.household_id = Some(HOUSEHOLD);
                }),
                Some(&[OneCharacterDifferent, SameBirthDate, SameSex, SameHousehold]),
            ),
            ("other names", base.clone(), with(&|p| p.name = "李娜".into()), None),
            ("one-character names", child("伟", "2015-06-01"), child("华", "2015-06-01"), None),
            (
                "different national IDs",
                with(&|p| p.national_id = Some("a".into())),
                with(&|p| p.national_id = Some("b".into())),
                None,
            ),
            (
                "same national ID, other name",
                with(&|p| p.national_id = Some("a".into())),
                with(&|p| {
                    p.national_id = Some("a".into());
                    p.name = "李娜".into();
                    p.region_id = OTHER_VILLAGE;
                }),
                Some(&[SameNationalId, SameBirthDate, SameSex]),
            ),
        ];
        for (what, a, b, expected) in cases {
            let got = possible_duplicate(&a, &b).map(|l| l.signals);
            assert_eq!(got.as_deref(), expected, "{what}");
            assert_eq!(
                possible_duplicate(&b, &a).is_some(),
                expected.is_some(),
                "{what}, the other way round"
            );
        }
    }

    #[test]
    fn twins_with_names_one_character_apart_score_on_the_household() {
        // 张明 / 张亮 born the same day in one household score 20 + 30 + 5 + 15 = 70: the rule
        // cannot tell twins from a typing slip, and says so; a coordinator dismisses the pair.
        let mut a = child("张明", "2015-06-01");
        a.household_id = Some(HOUSEHOLD);
        let mut b = a.clone();
        b.name = "张亮".into();
        assert_eq!(compare(&a, &b).unwrap().score, 70);
    }

    #[test]
    fn scores_are_the_sum_of_the_points() {
        let a = child("张伟", "2015-06-01");
        assert_eq!(compare(&a, &a).unwrap().score, 40 + 30 + 5 + 10);
    }

    #[test]
    fn phone_keys_compare_the_last_eleven_digits() {
        assert_eq!(phone_key("+86 138-0000-0000"), phone_key("13800000000"));
        assert_eq!(phone_key("12-34"), None);
    }

    #[test]
    fn a_swapped_date_must_exist() {
        assert_eq!(swapped("2015-06-01".parse().unwrap()), "2015-01-06".parse().ok());
        assert_eq!(swapped("2015-06-13".parse().unwrap()), None);
        assert_eq!(swapped("2015-06-06".parse().unwrap()), None);
    }
}
