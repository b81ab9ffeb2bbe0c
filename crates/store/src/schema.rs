//! The tables, written by hand to match `migrations/{sqlite,postgres}`: one schema for both
//! backends, so only types that both share (Text, Integer, BigInt, Bool, Date, Timestamp).

diesel::table! {
    settings (key) {
        key -> Text,
        value -> Text,
    }
}

diesel::table! {
    counters (name) {
        name -> Text,
        value -> BigInt,
    }
}

diesel::table! {
    users (id) {
        id -> Text,
        username -> Text,
        display_name -> Text,
        password_hash -> Text,
        role -> Text,
        active -> Bool,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        version -> Integer,
        organisation_id -> Nullable<Text>,
        region_id -> Nullable<Text>,
        token_epoch -> Integer,
    }
}

diesel::table! {
    refresh_tokens (id) {
        id -> Text,
        family_id -> Text,
        user_id -> Text,
        token_hash -> Text,
        issued_at -> Timestamp,
        expires_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
        revoked_at -> Nullable<Timestamp>,
        token_epoch -> Integer,
    }
}

diesel::table! {
    audit_archives (month, part) {
        month -> Text,
        part -> Integer,
        entries -> BigInt,
        sha256 -> Text,
        file -> Text,
        archived_at -> Timestamp,
        deleting -> Bool,
    }
}

diesel::table! {
    replica_heartbeat (id) {
        id -> Integer,
        at -> Timestamp,
    }
}

diesel::table! {
    client_quotas (client_id) {
        client_id -> Text,
        spent -> Double,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    login_addresses (address) {
        address -> Text,
        spent -> Double,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    login_delays (name_digest, address) {
        name_digest -> Text,
        address -> Text,
        failures -> Integer,
        blocked_until -> Nullable<Timestamp>,
        trusted_until -> Nullable<Timestamp>,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    idempotency_keys (actor_id, key) {
        actor_id -> Text,
        key -> Text,
        method -> Text,
        path -> Text,
        request_hash -> Text,
        response_status -> Integer,
        response_body -> Text,
        created_at -> Timestamp,
        response_headers -> Nullable<Text>,
    }
}

diesel::table! {
    regions (id) {
        id -> Text,
        parent_id -> Nullable<Text>,
        level -> Text,
        name -> Text,
        name_en -> Nullable<Text>,
        code -> Nullable<Text>,
        path -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        version -> Integer,
    }
}

diesel::table! {
    households (id) {
        id -> Text,
        region_id -> Text,
        address -> Nullable<Text>,
        parents_work_away -> Bool,
        notes -> Nullable<Text>,
        created_by -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        version -> Integer,
    }
}

diesel::table! {
    guardians (id) {
        id -> Text,
        household_id -> Text,
        position -> Integer,
        name -> Text,
        relation -> Text,
        phone -> Nullable<Text>,
        is_primary -> Bool,
        works_away -> Bool,
    }
}

diesel::table! {
    children (id) {
        id -> Text,
        household_id -> Nullable<Text>,
        region_id -> Text,
        name -> Text,
        sex -> Text,
        birth_date -> Date,
        national_id -> Nullable<Text>,
        in_welfare_centre -> Bool,
        left_behind -> Bool,
        in_difficulty -> Bool,
        school -> Nullable<Text>,
        health_notes -> Nullable<Text>,
        disability_notes -> Nullable<Text>,
        status -> Text,
        case_number -> Nullable<Text>,
        registered_on -> Nullable<Date>,
        closed_on -> Nullable<Date>,
        closure_reason -> Nullable<Text>,
        created_by -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        version -> Integer,
        organisation_id -> Nullable<Text>,
        caseworker_id -> Nullable<Text>,
    }
}

diesel::table! {
    duplicate_reviews (id) {
        id -> Text,
        child_id -> Text,
        other_child_id -> Text,
        reason -> Text,
        found_by -> Text,
        found_at -> Timestamp,
        outcome -> Nullable<Text>,
        note -> Nullable<Text>,
        resolved_by -> Nullable<Text>,
        resolved_at -> Nullable<Timestamp>,
        version -> Integer,
        score -> Nullable<Integer>,
        signals -> Nullable<Text>,
    }
}

diesel::table! {
    imports (id) {
        id -> Text,
        created_by -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        format -> Text,
        sheet -> Nullable<Text>,
        encoding -> Nullable<Text>,
        state -> Text,
        progress -> Integer,
        total_rows -> Integer,
        creates -> Integer,
        updates -> Integer,
        possible_duplicates -> Integer,
        invalid -> Integer,
        column_map -> Text,
        source -> Nullable<Text>,
        skip_invalid -> Nullable<Bool>,
        commit_key -> Nullable<Text>,
        failure -> Nullable<Text>,
        committed_at -> Nullable<Timestamp>,
        version -> Integer,
    }
}

diesel::table! {
    import_rows (import_id, row_number) {
        import_id -> Text,
        row_number -> Integer,
        outcome -> Text,
        child_id -> Nullable<Text>,
        candidate_id -> Nullable<Text>,
        signals -> Nullable<Text>,
        problems -> Text,
        data -> Text,
    }
}

diesel::table! {
    child_merges (id) {
        id -> Text,
        child_id -> Text,
        merged_into -> Text,
        reason -> Text,
        merged_by -> Text,
        merged_at -> Timestamp,
        record -> Text,
        moved -> Text,
        undone_by -> Nullable<Text>,
        undone_at -> Nullable<Timestamp>,
        undo_reason -> Nullable<Text>,
        version -> Integer,
    }
}

diesel::table! {
    child_status_changes (id) {
        id -> Text,
        child_id -> Text,
        from_status -> Text,
        to_status -> Text,
        effective_on -> Date,
        reason -> Nullable<Text>,
        changed_by -> Text,
        changed_at -> Timestamp,
    }
}

diesel::table! {
    assessments (id) {
        id -> Text,
        child_id -> Text,
        assessed_on -> Date,
        assessor_id -> Text,
        living_conditions_score -> Integer,
        living_conditions_notes -> Nullable<Text>,
        psychological_state_score -> Integer,
        psychological_state_notes -> Nullable<Text>,
        study_score -> Integer,
        study_notes -> Nullable<Text>,
        social_development_score -> Integer,
        social_development_notes -> Nullable<Text>,
        risk_level -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    contacts (id) {
        id -> Text,
        kind -> Text,
        household_id -> Nullable<Text>,
        child_id -> Nullable<Text>,
        occurred_at -> Timestamp,
        made_by -> Text,
        outcome -> Text,
        notes -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    consents (id) {
        id -> Text,
        child_id -> Text,
        purpose -> Text,
        organisation_id -> Nullable<Text>,
        given_by_name -> Text,
        given_by_relation -> Text,
        given_at -> Timestamp,
        withdrawn_at -> Nullable<Timestamp>,
        withdrawal_reason -> Nullable<Text>,
        notes -> Nullable<Text>,
        recorded_by -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        version -> Integer,
    }
}

diesel::joinable!(refresh_tokens -> users (user_id));
diesel::joinable!(households -> regions (region_id));
diesel::joinable!(guardians -> households (household_id));
diesel::joinable!(children -> regions (region_id));
diesel::joinable!(children -> households (household_id));
diesel::joinable!(child_status_changes -> children (child_id));
diesel::joinable!(assessments -> children (child_id));
diesel::joinable!(consents -> children (child_id));

diesel::table! {
    mentors (id) {
        id -> Text,
        user_id -> Nullable<Text>,
        name -> Text,
        organisation -> Nullable<Text>,
        phone -> Nullable<Text>,
        email -> Nullable<Text>,
        notes -> Nullable<Text>,
        active -> Bool,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        version -> Integer,
        region_id -> Nullable<Text>,
    }
}

diesel::table! {
    pairings (id) {
        id -> Text,
        mentor_id -> Text,
        child_id -> Text,
        status -> Text,
        started_on -> Nullable<Date>,
        ended_on -> Nullable<Date>,
        end_reason -> Nullable<Text>,
        notes -> Nullable<Text>,
        created_by -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        version -> Integer,
    }
}

diesel::table! {
    pair_contacts (id) {
        id -> Text,
        pairing_id -> Text,
        occurred_at -> Timestamp,
        kind -> Text,
        topics -> Text,
        duration_minutes -> Nullable<Integer>,
        commemorative -> Bool,
        title -> Nullable<Text>,
        notes -> Nullable<Text>,
        recorded_by -> Text,
        created_at -> Timestamp,
        home_visit_request_id -> Nullable<Text>,
        outcome -> Text,
    }
}

diesel::table! {
    cadence_rules (id) {
        id -> Text,
        code -> Text,
        name -> Text,
        subject -> Text,
        counted_kinds -> Text,
        commemorative_only -> Bool,
        period -> Text,
        at_risk_days -> Integer,
        active -> Bool,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        version -> Integer,
        tallies_built_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    cadence_rule_versions (id) {
        id -> Text,
        rule_id -> Text,
        effective_from -> Date,
        minimum -> Integer,
        created_at -> Timestamp,
    }
}

diesel::table! {
    compliance_exemptions (id) {
        id -> Text,
        rule_id -> Text,
        subject_id -> Text,
        period_start -> Date,
        reason -> Text,
        recorded_by -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    compliance_tallies (rule_id, period_start, subject_id) {
        rule_id -> Text,
        period_start -> Date,
        subject_id -> Text,
        activities -> BigInt,
    }
}

diesel::joinable!(pairings -> mentors (mentor_id));
diesel::joinable!(pairings -> children (child_id));
diesel::joinable!(pair_contacts -> pairings (pairing_id));
diesel::joinable!(cadence_rule_versions -> cadence_rules (rule_id));
diesel::joinable!(compliance_exemptions -> cadence_rules (rule_id));
diesel::joinable!(compliance_tallies -> cadence_rules (rule_id));

diesel::table! {
    counselling_enrolments (id) {
        id -> Text,
        child_id -> Text,
        weekday -> Integer,
        time_of_day -> Text,
        starts_on -> Date,
        ends_on -> Nullable<Date>,
        notes -> Nullable<Text>,
        created_by -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        version -> Integer,
    }
}

diesel::table! {
    counselling_team_members (id) {
        id -> Text,
        enrolment_id -> Text,
        position -> Integer,
        name -> Text,
        role -> Text,
        user_id -> Nullable<Text>,
    }
}

diesel::table! {
    counselling_sessions (id) {
        id -> Text,
        enrolment_id -> Text,
        occurred_at -> Timestamp,
        attended_by -> Text,
        services -> Text,
        notes -> Nullable<Text>,
        recorded_by -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    holidays (id) {
        id -> Text,
        year -> Integer,
        holiday -> Text,
        first_day -> Date,
        last_day -> Date,
        makeup_workdays -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        version -> Integer,
    }
}

diesel::table! {
    home_visit_requests (id) {
        id -> Text,
        pairing_id -> Text,
        holiday_id -> Text,
        status -> Text,
        leaves_at -> Timestamp,
        returns_at -> Timestamp,
        address -> Text,
        transport -> Text,
        supervisor -> Text,
        emergency_contact_name -> Text,
        emergency_contact_phone -> Text,
        consent_given_by -> Nullable<Text>,
        consent_relation -> Nullable<Text>,
        consent_given_at -> Nullable<Timestamp>,
        checklist -> Text,
        checklist_completed_at -> Nullable<Timestamp>,
        decided_by -> Nullable<Text>,
        decided_at -> Nullable<Timestamp>,
        decision_reason -> Nullable<Text>,
        returned_at -> Nullable<Timestamp>,
        requested_by -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        version -> Integer,
        late_reason -> Nullable<Text>,
    }
}

diesel::table! {
    home_visit_steps (id) {
        id -> Text,
        request_id -> Text,
        step -> Text,
        actor_id -> Text,
        at -> Timestamp,
        note -> Nullable<Text>,
    }
}

diesel::joinable!(counselling_team_members -> counselling_enrolments (enrolment_id));
diesel::joinable!(counselling_sessions -> counselling_enrolments (enrolment_id));
diesel::joinable!(home_visit_requests -> pairings (pairing_id));
diesel::joinable!(home_visit_steps -> home_visit_requests (request_id));

diesel::table! {
    organisations (id) {
        id -> Text,
        name -> Text,
        kind -> Text,
        region_id -> Nullable<Text>,
        contact_name -> Nullable<Text>,
        contact_phone -> Nullable<Text>,
        notes -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        version -> Integer,
    }
}

diesel::table! {
    service_contracts (id) {
        id -> Text,
        purchaser_id -> Text,
        provider_id -> Text,
        starts_on -> Date,
        ends_on -> Date,
        services -> Text,
        notes -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    volunteers (id) {
        id -> Text,
        user_id -> Nullable<Text>,
        name -> Text,
        source -> Text,
        organisation_id -> Nullable<Text>,
        phone -> Nullable<Text>,
        skills -> Text,
        background_check_on -> Nullable<Date>,
        background_check_expires_on -> Nullable<Date>,
        safety_training_on -> Nullable<Date>,
        safety_training_expires_on -> Nullable<Date>,
        active -> Bool,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        version -> Integer,
    }
}

diesel::table! {
    teams (id) {
        id -> Text,
        name -> Text,
        organisation_id -> Nullable<Text>,
        description -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        version -> Integer,
    }
}

diesel::table! {
    team_members (team_id, volunteer_id) {
        team_id -> Text,
        volunteer_id -> Text,
    }
}

diesel::table! {
    events (id) {
        id -> Text,
        title -> Text,
        theme -> Nullable<Text>,
        event_type -> Text,
        programme -> Text,
        starts_at -> Timestamp,
        ends_at -> Timestamp,
        region_id -> Text,
        address -> Nullable<Text>,
        organiser_id -> Text,
        with_children -> Bool,
        service_forms -> Text,
        other_participants -> Integer,
        status -> Text,
        cancel_reason -> Nullable<Text>,
        notes -> Nullable<Text>,
        created_by -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        version -> Integer,
    }
}

diesel::table! {
    event_partners (event_id, organisation_id) {
        event_id -> Text,
        organisation_id -> Text,
    }
}

diesel::table! {
    event_roster (id) {
        id -> Text,
        event_id -> Text,
        volunteer_id -> Text,
        role -> Text,
        minutes -> Integer,
        created_at -> Timestamp,
    }
}

diesel::table! {
    event_attendance (id) {
        id -> Text,
        event_id -> Text,
        child_id -> Text,
        guardian_present -> Bool,
        notes -> Nullable<Text>,
        recorded_by -> Text,
        created_at -> Timestamp,
    }
}

diesel::joinable!(volunteers -> organisations (organisation_id));
diesel::joinable!(team_members -> teams (team_id));
diesel::joinable!(team_members -> volunteers (volunteer_id));
diesel::joinable!(events -> regions (region_id));
diesel::joinable!(events -> organisations (organiser_id));
diesel::joinable!(event_partners -> events (event_id));
diesel::joinable!(event_roster -> events (event_id));
diesel::joinable!(event_roster -> volunteers (volunteer_id));
diesel::joinable!(event_attendance -> events (event_id));
diesel::joinable!(event_attendance -> children (child_id));

diesel::table! {
    api_clients (id) {
        id -> Text,
        organisation_id -> Text,
        name -> Text,
        scopes -> Text,
        secret_hash -> Text,
        created_by -> Text,
        created_at -> Timestamp,
        secret_rotated_at -> Timestamp,
        revoked_at -> Nullable<Timestamp>,
        version -> Integer,
    }
}

diesel::table! {
    signing_keys (kid) {
        kid -> Text,
        private_key -> Text,
        public_key -> Text,
        created_at -> Timestamp,
        retired_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    audit_log (id) {
        id -> Text,
        at -> Timestamp,
        actor_kind -> Text,
        actor_id -> Nullable<Text>,
        actor_role -> Nullable<Text>,
        action -> Text,
        resource -> Text,
        resource_id -> Nullable<Text>,
        child_id -> Nullable<Text>,
        status -> Integer,
        changes -> Nullable<Text>,
        address -> Nullable<Text>,
        request_id -> Nullable<Text>,
    }
}

diesel::joinable!(api_clients -> organisations (organisation_id));

diesel::allow_tables_to_appear_in_same_query!(
    imports,
    import_rows,
    child_merges,
    settings,
    counters,
    users,
    refresh_tokens,
    login_addresses,
    login_delays,
    idempotency_keys,
    regions,
    households,
    guardians,
    children,
    duplicate_reviews,
    child_status_changes,
    assessments,
    contacts,
    consents,
    mentors,
    pairings,
    pair_contacts,
    cadence_rules,
    cadence_rule_versions,
    compliance_exemptions,
    compliance_tallies,
    counselling_enrolments,
    counselling_team_members,
    counselling_sessions,
    holidays,
    home_visit_requests,
    home_visit_steps,
    organisations,
    service_contracts,
    volunteers,
    teams,
    team_members,
    events,
    event_partners,
    event_roster,
    event_attendance,
    api_clients,
    signing_keys,
    audit_log
);
