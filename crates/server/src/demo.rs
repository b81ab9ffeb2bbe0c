//! `tongxing seed-demo`: a synthetic dataset shaped on the source report (no real people). Run
//! on an empty database, the programme summary for the city from 2023-06-01 gives the published
//! figures: 106 children registered, 200 families phoned, 85 children visited, 2 quarterly
//! theme events, 6 care events and 6 visit-and-comfort events. Case-work contacts and events end
//! by 31 January 2024; mentor–child contacts run on to the present, so compliance has current
//! states. Everything is loaded in one transaction, and only into an empty database.

use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Utc};
use diesel::prelude::*;
use tongxing_accounts::tokens::generate_secret;
use tongxing_accounts::users::{self, UserInput};
use tongxing_cases::assessments::{self, AssessmentInput, DimensionScore};
use tongxing_cases::children::{self, Category, ChildInput, Sex, StatusChange};
use tongxing_cases::consents::{self, ConsentInput, ConsentPurpose};
use tongxing_cases::contacts::{self, ContactInput, ContactKind, ContactOutcome};
use tongxing_cases::households::{self, Guardian, HouseholdInput, Relation};
use tongxing_cases::lifecycle::CaseStatus;
use tongxing_core::Code;
use tongxing_core::access::Scope;
use tongxing_core::role::Role;
use tongxing_core::{Error, Result, time};
use tongxing_events::events::{self, EventInput, EventStatus, EventStatusChange, EventType, Programme};
use tongxing_events::organisations::{self, OrganisationInput, OrganisationKind, ServiceContractInput};
use tongxing_events::roster::{self, AttendanceBatch, AttendanceItem, RosterInput, RosterRole};
use tongxing_events::service_forms::ServiceForm;
use tongxing_events::volunteers::{self, Clearance, TeamInput, VolunteerInput, VolunteerSource};
use tongxing_pairing::contacts::{self as pair_contacts, PairContactInput, PairContactKind, Topic};
use tongxing_pairing::counselling::{
    self, CounsellingService, EnrolmentInput, SessionInput, TeamMember, TeamRole,
};
use tongxing_pairing::mentors::{self, MentorInput};
use tongxing_pairing::pairings::{self, PairingInput, PairingStatus, PairingStatusChange};
use tongxing_store::schema::{children as children_table, regions};
use tongxing_store::{DbConnection, map_db_error, settings, transaction};
use uuid::Uuid;

const MARKER: &str = "demo_dataset";

const SURNAMES: [&str; 20] = [
    "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "周", "吴", "徐", "孙", "胡", "朱", "高", "林", "何",
    "郭", "马", "罗",
];
const GIVEN: [&str; 24] = [
    "小雨", "子涵", "欣怡", "浩然", "梓萱", "宇航", "思远", "雨桐", "俊杰", "佳怡", "明轩", "诗琪", "博文",
    "可馨", "天佑", "晨曦", "嘉怡", "皓轩", "梦瑶", "一鸣", "若曦", "泽宇", "心怡", "文博",
];

/// A small deterministic generator: the same dataset every time.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, bound: u64) -> u64 {
        self.0 = self.0.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % bound.max(1)
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[usize::try_from(self.next(items.len() as u64)).unwrap_or(0)]
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.next(100) < percent
    }
}

fn d(y: i32, m: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, day).unwrap_or_default()
}

/// A Shanghai wall-clock time.
fn at(date: NaiveDate, hour: u32, minute: u32) -> DateTime<Utc> {
    let naive = date.and_hms_opt(hour, minute, 0).unwrap_or_default();
    time::TIME_ZONE.from_local_datetime(&naive).earliest().map_or_else(Utc::now, |t| t.with_timezone(&Utc))
}

fn name(rng: &mut Lcg) -> String {
    format!("{}{}", rng.pick(&SURNAMES), rng.pick(&GIVEN))
}

fn region(conn: &mut DbConnection, name: &str) -> Result<Uuid> {
    let id: String = regions::table
        .filter(regions::name.eq(name))
        .select(regions::id)
        .first(conn)
        .map_err(|_| Error::internal(format!("reference region {name} is missing")))?;
    tongxing_core::record::parse_id(&id)
}

/// The figures a fresh load gives, for the caller to print.
#[derive(Debug)]
pub struct Loaded {
    pub children: usize,
    pub households: usize,
    pub pairings: usize,
    pub events: usize,
}

pub fn load(conn: &mut DbConnection) -> Result<Loaded> {
    transaction(conn, load_all)
}

fn load_all(conn: &mut DbConnection) -> Result<Loaded> {
    if settings::get(conn, MARKER)?.is_some() {
        return Err(Error::conflict(Code::DemoLoaded, "the demo dataset is already loaded"));
    }
    let existing: i64 = children_table::table.count().get_result(conn).map_err(map_db_error)?;
    if existing > 0 {
        return Err(Error::conflict(Code::NotEmpty, "seed-demo loads only into a database without children"));
    }
    let mut rng = Lcg(20231111);
    let staff = |conn: &mut DbConnection, username: &str, role: Role| -> Result<Uuid> {
        // Demo accounts have random passwords nobody knows: they only author the records.
        let input = UserInput {
            id: None,
            username: username.into(),
            display_name: username.into(),
            role,
            organisation_id: None,
            region_id: None,
            password: generate_secret(),
        };
        Ok(users::create(conn, input)?.id)
    };
    let coordinator = staff(conn, "demo.coordinator", Role::Coordinator)?;
    let caseworker = staff(conn, "demo.caseworker", Role::Caseworker)?;

    let guihua = ["毛坪村", "柏墩村", "明星村", "鸣水泉村", "九垅村", "石城村"];
    let mut villages = Vec::new();
    for v in guihua.iter().chain(["金桂社区", "南昌路社区"].iter()) {
        villages.push(region(conn, v)?);
    }
    let centre_region = region(conn, "南昌路社区")?;

    // Households and children: the 106 registered in the programme's first eight months (in
    // 100 households), 80 left-behind children (50 with older files, 30 in screening), 70
    // children in screening, and the welfare centre's 40 children with files long opened.
    let window_start = d(2023, 6, 1);
    let mut household_of_registered = Vec::new();
    let mut registered = Vec::new();
    // The registered children of each Guihua village, for the 11 November event.
    let mut by_village: Vec<Vec<Uuid>> = vec![Vec::new(); guihua.len()];
    for i in 0..100 {
        let village = villages[i % villages.len()];
        let h = household(conn, &mut rng, village, i % 3 == 0, caseworker)?;
        household_of_registered.push(h);
        let siblings = if i < 6 { 2 } else { 1 };
        for _ in 0..siblings {
            let c = child(conn, &mut rng, village, Some(h), vec![Category::InDifficulty], caseworker)?;
            let opened = window_start + Duration::days(i64::try_from(rng.next(245)).unwrap_or(0));
            status(conn, c, CaseStatus::Registered, opened, caseworker)?;
            if rng.chance(60) {
                status(conn, c, CaseStatus::Active, opened + Duration::days(7), caseworker)?;
            }
            consents::create(
                conn,
                &Scope::system_as(caseworker),
                ConsentInput {
                    id: None,
                    child_id: c,
                    purpose: ConsentPurpose::CaseFile,
                    organisation_id: None,
                    given_by_name: name(&mut rng),
                    given_by_relation: Relation::Grandmother,
                    given_at: at(opened, 10, 0),
                    notes: None,
                },
            )?;
            registered.push(c);
            if let Some(list) = by_village.get_mut(i % villages.len()) {
                list.push(c);
            }
        }
    }
    let mut left_behind = Vec::new();
    let mut left_behind_households = Vec::new();
    for i in 0..80 {
        let village = villages[i % villages.len()];
        let h = household(conn, &mut rng, village, true, caseworker)?;
        let c = child(conn, &mut rng, village, Some(h), vec![Category::LeftBehind], caseworker)?;
        if i < 50 {
            let opened = d(2021, 3, 1) + Duration::days(i64::try_from(rng.next(700)).unwrap_or(0));
            status(conn, c, CaseStatus::Registered, opened, caseworker)?;
            status(conn, c, CaseStatus::Active, opened + Duration::days(14), caseworker)?;
        }
        left_behind.push(c);
        left_behind_households.push(h);
    }
    let mut screening_households = Vec::new();
    for i in 0..70 {
        let village = villages[i % villages.len()];
        let h = household(conn, &mut rng, village, false, caseworker)?;
        child(conn, &mut rng, village, Some(h), vec![Category::InDifficulty], caseworker)?;
        screening_households.push(h);
    }
    let mut centre_children = Vec::new();
    for _ in 0..40 {
        let c = child(conn, &mut rng, centre_region, None, vec![Category::OrphanedOrDisabled], coordinator)?;
        let opened = d(2016, 1, 1) + Duration::days(i64::try_from(rng.next(2500)).unwrap_or(0));
        status(conn, c, CaseStatus::Registered, opened, coordinator)?;
        status(conn, c, CaseStatus::Active, opened + Duration::days(1), coordinator)?;
        centre_children.push(c);
    }

    // Phone visits: 200 distinct households reached (the 100 registered children's, 40 of the
    // left-behind children's and 60 still in screening), some more than once; ten calls nobody
    // answered count for nothing.
    let phoned: Vec<Uuid> = household_of_registered
        .iter()
        .chain(left_behind_households.iter().take(40))
        .chain(screening_households.iter().take(60))
        .copied()
        .collect();
    for (i, h) in phoned.iter().enumerate() {
        let calls = 1 + usize::from(i % 4 == 0);
        for _ in 0..calls {
            contact(
                conn,
                &mut rng,
                ContactKind::PhoneVisit,
                Some(*h),
                None,
                ContactOutcome::Completed,
                caseworker,
            )?;
        }
    }
    for h in screening_households.iter().skip(60) {
        contact(
            conn,
            &mut rng,
            ContactKind::PhoneVisit,
            Some(*h),
            None,
            ContactOutcome::NotReached,
            caseworker,
        )?;
    }
    // In-person visits: 85 distinct children (75 registered, 10 left-behind with files).
    let visited: Vec<Uuid> = registered.iter().take(75).chain(left_behind.iter().take(10)).copied().collect();
    let kinds =
        [ContactKind::HomeVisit, ContactKind::SchoolVisit, ContactKind::HomeVisit, ContactKind::CentreVisit];
    for (i, c) in visited.iter().enumerate() {
        let kind = kinds[i % kinds.len()];
        contact(conn, &mut rng, kind, None, Some(*c), ContactOutcome::Completed, caseworker)?;
        if i % 5 == 0 {
            contact(
                conn,
                &mut rng,
                ContactKind::HomeVisit,
                None,
                Some(*c),
                ContactOutcome::Completed,
                caseworker,
            )?;
        }
    }
    for c in registered.iter().skip(75).take(6) {
        contact(
            conn,
            &mut rng,
            ContactKind::HomeVisit,
            None,
            Some(*c),
            ContactOutcome::NotReached,
            caseworker,
        )?;
    }

    // Assessments: the 80 left-behind children, on four dimensions; 20 reassessed in January.
    for (i, c) in left_behind.iter().enumerate() {
        let first = d(2023, 7, 1) + Duration::days(i64::try_from(rng.next(90)).unwrap_or(0));
        assessment(conn, &mut rng, *c, first, 0, caseworker)?;
        if i < 20 {
            assessment(
                conn,
                &mut rng,
                *c,
                d(2024, 1, 8) + Duration::days(i64::try_from(i).unwrap_or(0)),
                1,
                caseworker,
            )?;
        }
    }

    let events_loaded = load_events(conn, &mut rng, &villages, &registered, &by_village, coordinator)?;
    let pairings_loaded = load_pairings(conn, &mut rng, &centre_children, coordinator)?;
    load_counselling(conn, &mut rng, &left_behind[..10], caseworker)?;
    settings::get_or_insert(conn, MARKER, || time::now().to_rfc3339())?;
    Ok(Loaded {
        children: registered.len() + left_behind.len() + screening_households.len() + centre_children.len(),
        households: household_of_registered.len() + left_behind_households.len() + screening_households.len(),
        pairings: pairings_loaded,
        events: events_loaded,
    })
}

fn household(conn: &mut DbConnection, rng: &mut Lcg, village: Uuid, away: bool, actor: Uuid) -> Result<Uuid> {
    let guardian = Guardian {
        name: name(rng),
        relation: if away { Relation::Grandmother } else { Relation::Mother },
        phone: Some(format!("1380000{:04}", rng.next(10_000))),
        is_primary: true,
        works_away: false,
    };
    let mut guardians = vec![guardian];
    if away {
        guardians.push(Guardian {
            name: name(rng),
            relation: Relation::Father,
            phone: None,
            is_primary: false,
            works_away: true,
        });
    }
    let input = HouseholdInput {
        id: None,
        region_id: village,
        address: Some(format!("{}组{}号", 1 + rng.next(9), 1 + rng.next(60))),
        parents_work_away: away,
        notes: None,
        guardians,
    };
    Ok(households::create(conn, &Scope::system_as(actor), input)?.record.id)
}

fn child(
    conn: &mut DbConnection,
    rng: &mut Lcg,
    village: Uuid,
    household: Option<Uuid>,
    categories: Vec<Category>,
    actor: Uuid,
) -> Result<Uuid> {
    let birth = d(2008, 1, 1) + Duration::days(i64::try_from(rng.next(3650)).unwrap_or(0));
    let input = ChildInput {
        id: None,
        household_id: household,
        region_id: village,
        name: name(rng),
        sex: if rng.chance(50) { Sex::Female } else { Sex::Male },
        birth_date: birth,
        national_id: None,
        categories,
        school: Some("桂花镇中心小学".into()),
        health_notes: None,
        disability_notes: None,
        organisation_id: None,
        caseworker_id: None,
    };
    Ok(children::create(conn, &Scope::system_as(actor), input)?.record.id)
}

fn status(conn: &mut DbConnection, child: Uuid, to: CaseStatus, on: NaiveDate, actor: Uuid) -> Result<()> {
    children::change_status(
        conn,
        &Scope::system_as(actor),
        child,
        StatusChange { status: to, effective_on: Some(on), reason: None },
        None,
    )?;
    Ok(())
}

fn contact(
    conn: &mut DbConnection,
    rng: &mut Lcg,
    kind: ContactKind,
    household: Option<Uuid>,
    child: Option<Uuid>,
    outcome: ContactOutcome,
    actor: Uuid,
) -> Result<()> {
    // Case-work contacts fall between 1 June 2023 and 31 January 2024.
    let day = d(2023, 6, 1) + Duration::days(i64::try_from(rng.next(245)).unwrap_or(0));
    let input = ContactInput {
        id: None,
        kind,
        household_id: household,
        child_id: child,
        occurred_at: at(day, 9 + u32::try_from(rng.next(8)).unwrap_or(0), 0),
        outcome,
        notes: None,
    };
    contacts::create(conn, &Scope::system_as(actor), input)?;
    Ok(())
}

fn assessment(
    conn: &mut DbConnection,
    rng: &mut Lcg,
    child: Uuid,
    on: NaiveDate,
    lift: i32,
    actor: Uuid,
) -> Result<()> {
    let mut score =
        || DimensionScore { score: (1 + i32::try_from(rng.next(5)).unwrap_or(0) + lift).min(5), notes: None };
    let input = AssessmentInput {
        id: None,
        assessed_on: on,
        living_conditions: score(),
        psychological_state: score(),
        study: score(),
        social_development: score(),
    };
    assessments::create(conn, &Scope::system_as(actor), child, input)?;
    Ok(())
}

fn organisation(
    conn: &mut DbConnection,
    name: &str,
    kind: OrganisationKind,
    region: Option<Uuid>,
) -> Result<Uuid> {
    let input = OrganisationInput {
        id: None,
        name: name.into(),
        kind,
        region_id: region,
        contact_name: None,
        contact_phone: None,
        notes: None,
    };
    Ok(organisations::create(conn, input)?.record.id)
}

fn load_events(
    conn: &mut DbConnection,
    rng: &mut Lcg,
    villages: &[Uuid],
    registered: &[Uuid],
    by_village: &[Vec<Uuid>],
    actor: Uuid,
) -> Result<usize> {
    organisation(conn, "咸宁市民政局", OrganisationKind::GovernmentAgency, None)?;
    let district = organisation(conn, "咸安区民政局", OrganisationKind::GovernmentAgency, None)?;
    let federation = organisation(conn, "咸宁市社会组织联合会", OrganisationKind::SocialOrganisation, None)?;
    let lingxi = organisation(conn, "咸宁市灵悉社会工作服务中心", OrganisationKind::SocialWorkCentre, None)?;
    organisation(conn, "咸宁市儿童福利中心", OrganisationKind::WelfareCentre, None)?;
    let baidun_committee =
        organisation(conn, "柏墩村村民委员会", OrganisationKind::VillageCommittee, Some(villages[1]))?;
    let jingui_committee =
        organisation(conn, "金桂社区居民委员会", OrganisationKind::VillageCommittee, Some(villages[6]))?;
    let nanchang_committee =
        organisation(conn, "南昌路社区居民委员会", OrganisationKind::VillageCommittee, Some(villages[7]))?;
    let university = organisation(conn, "湖北科技学院", OrganisationKind::School, None)?;
    organisations::create_contract(
        conn,
        ServiceContractInput {
            id: None,
            purchaser_id: district,
            provider_id: lingxi,
            starts_on: d(2023, 5, 1),
            ends_on: d(2024, 4, 30),
            services: vec![
                "psychological_counselling".into(),
                "guardianship_guidance".into(),
                "behaviour_correction".into(),
            ],
            notes: Some("政府购买服务".into()),
        },
    )?;
    let cleared = Some(Clearance { on: d(2023, 1, 10), expires_on: d(2025, 12, 31) });
    let trained = Some(Clearance { on: d(2023, 3, 1), expires_on: d(2024, 12, 31) });
    let mut city_team = Vec::new();
    let mut others = Vec::new();
    for i in 0..18 {
        let (source, org) = match i {
            0..8 => (VolunteerSource::SocialOrganisation, federation),
            8..14 => (VolunteerSource::University, university),
            _ => (VolunteerSource::Community, jingui_committee),
        };
        let input = VolunteerInput {
            id: None,
            user_id: None,
            name: name(rng),
            source,
            organisation_id: Some(org),
            phone: None,
            skills: vec![
                ServiceForm::ReadingCompanionship,
                ServiceForm::InteractiveGames,
                ServiceForm::TraditionalCultureEducation,
            ],
            background_check: cleared,
            safety_training: trained,
            active: true,
        };
        let v = volunteers::create(conn, input)?.record.id;
        if i < 8 { city_team.push(v) } else { others.push(v) }
    }
    volunteers::create_team(
        conn,
        TeamInput {
            id: None,
            name: "咸宁市志愿服务队".into(),
            organisation_id: Some(federation),
            description: None,
            volunteer_ids: city_team.clone(),
        },
    )?;

    // The 27 May consultation for parents (before the escort action began).
    let consultation = EventInput {
        id: None,
        title: "心理健康义诊咨询".into(),
        theme: Some("学生家长心理健康".into()),
        event_type: EventType::MentalHealthConsultation,
        programme: Programme::OnePlusN,
        starts_at: at(d(2023, 5, 27), 9, 0),
        ends_at: at(d(2023, 5, 27), 12, 0),
        region_id: villages[6],
        address: Some("金桂社区".into()),
        organiser_id: district,
        partner_ids: vec![jingui_committee, nanchang_committee, lingxi],
        with_children: false,
        service_forms: vec![ServiceForm::PsychologicalCounselling, ServiceForm::FamilyEducationGuidance],
        other_participants: 45,
        notes: None,
    };
    let e = events::create(conn, &Scope::system_as(actor), consultation)?.record.id;
    roster::add(
        conn,
        &Scope::system(),
        e,
        RosterInput { volunteer_id: others[0], role: RosterRole::Counsellor, hours: 3.0 },
    )?;
    mark(conn, e, EventStatus::Held)?;
    mark(conn, e, EventStatus::Reported)?;

    let schedule: [(EventType, NaiveDate, &str); 14] = [
        (EventType::Care, d(2023, 6, 10), "童心向党 快乐成长"),
        (EventType::VisitAndComfort, d(2023, 6, 24), "端午探访慰问"),
        (EventType::Care, d(2023, 7, 15), "暑期安全教育"),
        (EventType::VisitAndComfort, d(2023, 8, 5), "暑期入户走访"),
        (EventType::Care, d(2023, 8, 19), "手工与绘画"),
        (EventType::QuarterlyTheme, d(2023, 9, 16), "第三季度主题活动：传统文化进乡村"),
        (EventType::VisitAndComfort, d(2023, 9, 28), "中秋探访慰问"),
        (EventType::Care, d(2023, 10, 14), "体育游戏日"),
        (EventType::VisitAndComfort, d(2023, 10, 28), "重阳敬老与关爱"),
        (EventType::Care, d(2023, 11, 11), "关爱护成长 文化润童心"),
        (EventType::QuarterlyTheme, d(2023, 12, 16), "第四季度主题活动：感恩教育"),
        (EventType::VisitAndComfort, d(2023, 12, 30), "元旦探访慰问"),
        (EventType::Care, d(2024, 1, 13), "寒假阅读陪伴"),
        (EventType::VisitAndComfort, d(2024, 1, 27), "春节前探访慰问"),
    ];
    // Fourteen children from the six Guihua villages, taken in turn.
    let mut baidun_children = Vec::new();
    for round in 0.. {
        for list in by_village {
            if baidun_children.len() < 14
                && let Some(c) = list.get(round)
            {
                baidun_children.push(*c);
            }
        }
        if baidun_children.len() >= 14 || round > 20 {
            break;
        }
    }
    for (n, (kind, day, title)) in schedule.iter().enumerate() {
        let baidun_day = *day == d(2023, 11, 11);
        let input = EventInput {
            id: None,
            title: (*title).into(),
            theme: baidun_day.then(|| "家风家训经典诵读".to_owned()),
            event_type: *kind,
            programme: Programme::FivePlusN,
            starts_at: at(*day, 9, 0),
            ends_at: at(*day, 11, 30),
            region_id: if baidun_day { villages[1] } else { villages[n % villages.len()] },
            address: baidun_day.then(|| "柏墩村村委会".to_owned()),
            organiser_id: federation,
            partner_ids: if baidun_day { vec![baidun_committee] } else { vec![] },
            with_children: true,
            service_forms: if baidun_day {
                vec![ServiceForm::TraditionalCultureEducation, ServiceForm::ReadingCompanionship]
            } else {
                vec![*rng.pick(ServiceForm::ALL), *rng.pick(ServiceForm::ALL)]
            },
            other_participants: 0,
            notes: baidun_day.then(|| {
                "细雨中，8名志愿者与14名困境儿童及监护人一对一交流，国学老师带领诵读家风家训经典".to_owned()
            }),
        };
        let e = events::create(conn, &Scope::system_as(actor), input)?.record.id;
        let crew: Vec<Uuid> = if baidun_day {
            city_team.clone()
        } else {
            others.iter().skip(n % 5).take(3 + n % 3).copied().collect()
        };
        for (i, v) in crew.iter().enumerate() {
            let role = if i == 0 { RosterRole::Lead } else { RosterRole::Volunteer };
            roster::add(conn, &Scope::system(), e, RosterInput { volunteer_id: *v, role, hours: 2.5 })?;
        }
        // Baidun: 14 children from the six Guihua villages; others: 5 to 14 children.
        let attending: Vec<Uuid> = if baidun_day {
            baidun_children.clone()
        } else {
            let count = 5 + usize::try_from(rng.next(10)).unwrap_or(0);
            let offset = usize::try_from(rng.next(80)).unwrap_or(0);
            registered.iter().skip(offset).take(count).copied().collect()
        };
        let items = attending
            .iter()
            .map(|c| AttendanceItem {
                child_id: *c,
                guardian_present: baidun_day || rng.chance(50),
                notes: None,
            })
            .collect();
        roster::record(conn, &Scope::system_as(actor), e, AttendanceBatch { items })?;
        mark(conn, e, EventStatus::Held)?;
        if *day < d(2024, 1, 1) {
            mark(conn, e, EventStatus::Reported)?;
        }
    }
    // One care event was called off in the rain: it counts for nothing.
    let rained = EventInput {
        id: None,
        title: "户外运动会".into(),
        theme: None,
        event_type: EventType::Care,
        programme: Programme::FivePlusN,
        starts_at: at(d(2023, 7, 29), 9, 0),
        ends_at: at(d(2023, 7, 29), 11, 0),
        region_id: villages[3],
        address: None,
        organiser_id: federation,
        partner_ids: vec![],
        with_children: true,
        service_forms: vec![ServiceForm::SportsTeaching],
        other_participants: 0,
        notes: None,
    };
    let e = events::create(conn, &Scope::system_as(actor), rained)?.record.id;
    events::change_status(
        conn,
        &Scope::system(),
        e,
        EventStatusChange { status: EventStatus::Cancelled, reason: Some("暴雨预警".into()) },
        None,
    )?;
    Ok(schedule.len() + 2)
}

fn mark(conn: &mut DbConnection, event: Uuid, status: EventStatus) -> Result<()> {
    events::change_status(conn, &Scope::system(), event, EventStatusChange { status, reason: None }, None)?;
    Ok(())
}

/// About 40 staff of the bureau paired with the centre's children at the handover on 29
/// December 2023, 10:00; monthly contacts to this day with some months missed, and a
/// commemorative outing most years.
fn load_pairings(
    conn: &mut DbConnection,
    rng: &mut Lcg,
    centre_children: &[Uuid],
    actor: Uuid,
) -> Result<usize> {
    let handover = d(2023, 12, 29);
    let now = time::now();
    let today = time::today();
    for (i, c) in centre_children.iter().enumerate() {
        let input = MentorInput {
            id: None,
            user_id: None,
            region_id: None,
            name: name(rng),
            organisation: Some("咸宁市民政局".into()),
            phone: Some(format!("1390000{:04}", i)),
            email: None,
            notes: Some("党员爸爸妈妈".into()),
            active: true,
        };
        let m = mentors::create(conn, &Scope::system(), input)?.record.id;
        let p = pairings::create(
            conn,
            &Scope::system_as(actor),
            PairingInput { id: None, mentor_id: m, child_id: *c, notes: None },
        )?
        .record
        .id;
        pairings::change_status(
            conn,
            &Scope::system(),
            p,
            PairingStatusChange { status: PairingStatus::Active, effective_on: Some(handover), reason: None },
            None,
        )?;
        let log = |conn: &mut DbConnection,
                   when: DateTime<Utc>,
                   kind: PairContactKind,
                   title: Option<&str>|
         -> Result<()> {
            let input = PairContactInput {
                outcome: tongxing_pairing::contacts::ContactOutcome::Completed,
                id: None,
                occurred_at: when,
                kind,
                topics: vec![Topic::Talk, Topic::StudyGuidance],
                duration_minutes: Some(60),
                commemorative: title.is_some(),
                title: title.map(str::to_owned),
                notes: None,
                home_visit_request_id: None,
            };
            pair_contacts::create(conn, &Scope::system_as(actor), p, input)?;
            Ok(())
        };
        log(conn, at(handover, 10, 0), PairContactKind::CentreVisit, None)?;
        let mut month = d(2024, 1, 1);
        while month <= today {
            let day = month.with_day(3 + u32::try_from(rng.next(22)).unwrap_or(0)).unwrap_or(month);
            let when = at(day, 10, 0);
            if when < now && !rng.chance(8) {
                let kinds = [
                    PairContactKind::CentreVisit,
                    PairContactKind::Phone,
                    PairContactKind::Video,
                    PairContactKind::Message,
                ];
                log(conn, when, *rng.pick(&kinds), None)?;
            }
            let outing_day = d(month.year(), 4, 5);
            if month.month() == 4 && outing_day < today && !rng.chance(15) {
                log(conn, at(outing_day, 9, 0), PairContactKind::Outing, Some("清明节缅怀先烈"))?;
            }
            month = (month + Duration::days(32)).with_day(1).unwrap_or(month);
        }
    }
    Ok(centre_children.len())
}

/// Weekly home counselling for ten left-behind children, Saturdays from June 2023 to January
/// 2024, with some weeks missed.
fn load_counselling(conn: &mut DbConnection, rng: &mut Lcg, enrolled: &[Uuid], actor: Uuid) -> Result<()> {
    for c in enrolled {
        let input = EnrolmentInput {
            id: None,
            child_id: *c,
            team: vec![
                TeamMember { name: "陈心理".into(), role: TeamRole::Counsellor, user_id: None },
                TeamMember { name: name(rng), role: TeamRole::SocialWorker, user_id: None },
            ],
            weekday: 6,
            time_of_day: "15:00".into(),
            starts_on: d(2023, 6, 3),
            ends_on: Some(d(2024, 1, 28)),
            notes: None,
        };
        let e = counselling::create(conn, &Scope::system_as(actor), input)?.record.id;
        let mut day = d(2023, 6, 3);
        while day <= d(2024, 1, 27) {
            if !rng.chance(10) {
                let services = vec![*rng.pick(&[
                    CounsellingService::PsychologicalCounselling,
                    CounsellingService::GuardianshipGuidance,
                    CounsellingService::FamilyRelationshipAdjustment,
                ])];
                let session = SessionInput {
                    id: None,
                    occurred_at: at(day, 15, 0),
                    attended_by: vec!["陈心理".into()],
                    services,
                    notes: Some("陪伴与倾听".into()),
                };
                counselling::create_session(conn, &Scope::system_as(actor), e, session)?;
            }
            day += Duration::days(7);
        }
    }
    Ok(())
}
