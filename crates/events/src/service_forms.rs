//! The eleven service forms the volunteer team delivers.

text_enum! {
    pub enum ServiceForm {
        PsychologicalCounselling => "psychological_counselling",
        TraditionalCultureEducation => "traditional_culture_education",
        TraditionalSkillsTeaching => "traditional_skills_teaching",
        FamilyEducationGuidance => "family_education_guidance",
        GratitudeEducation => "gratitude_education",
        SportsTeaching => "sports_teaching",
        ProxyParenting => "proxy_parenting",
        ReadingCompanionship => "reading_companionship",
        InteractiveGames => "interactive_games",
        Handicrafts => "handicrafts",
        HandPainting => "hand_painting",
    }
}

/// Stores a list of forms as comma-separated names, without repeats, in a stable order.
pub fn to_db(forms: &[ServiceForm]) -> String {
    let mut names: Vec<&str> =
        ServiceForm::ALL.iter().filter(|f| forms.contains(f)).map(|f| f.as_str()).collect();
    names.dedup();
    names.join(",")
}

pub fn from_db(s: &str) -> tongxing_core::Result<Vec<ServiceForm>> {
    s.split(',').filter(|x| !x.is_empty()).map(ServiceForm::from_db).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eleven_forms_round_trip_in_a_stable_order() {
        assert_eq!(ServiceForm::ALL.len(), 11);
        let stored =
            to_db(&[ServiceForm::HandPainting, ServiceForm::ReadingCompanionship, ServiceForm::HandPainting]);
        assert_eq!(stored, "reading_companionship,hand_painting");
        assert_eq!(
            from_db(&stored).unwrap(),
            vec![ServiceForm::ReadingCompanionship, ServiceForm::HandPainting]
        );
    }
}
