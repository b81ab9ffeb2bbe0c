//! A plain-Rust reading of the summary's definitions, over records in memory. It shares no
//! code with the SQL: the property tests check the database's figures against it on random
//! data, on both backends.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, NaiveDate, Utc};
use tongxing_core::time;
use uuid::Uuid;

use crate::summary::EventsByType;

#[derive(Debug, Clone, Default)]
pub struct Dataset {
    /// Region id → parent id.
    pub regions: HashMap<Uuid, Option<Uuid>>,
    /// Household id → region id.
    pub households: HashMap<Uuid, Uuid>,
    pub children: Vec<ChildRecord>,
    pub contacts: Vec<ContactRecord>,
    pub events: Vec<EventRecord>,
    /// (event, child).
    pub attendance: Vec<(Uuid, Uuid)>,
    /// (event, volunteer, minutes).
    pub roster: Vec<(Uuid, Uuid, i64)>,
    /// (child, assessed on).
    pub assessments: Vec<(Uuid, NaiveDate)>,
}

#[derive(Debug, Clone)]
pub struct ChildRecord {
    pub id: Uuid,
    pub region: Uuid,
    pub registered_on: Option<NaiveDate>,
}

#[derive(Debug, Clone)]
pub struct ContactRecord {
    /// `phone_visit`, `home_visit`, `school_visit` or `centre_visit`.
    pub kind: &'static str,
    pub household: Option<Uuid>,
    pub child: Option<Uuid>,
    pub at: DateTime<Utc>,
    pub completed: bool,
}

#[derive(Debug, Clone)]
pub struct EventRecord {
    pub id: Uuid,
    pub event_type: &'static str,
    /// `planned`, `held`, `reported` or `cancelled`.
    pub status: &'static str,
    pub starts_at: DateTime<Utc>,
    pub region: Uuid,
}

/// The summary's figures.
#[derive(Debug, Clone, PartialEq)]
pub struct Figures {
    pub children_registered: i64,
    pub families_phoned: i64,
    pub children_visited: i64,
    pub events_held_by_type: EventsByType,
    pub children_attending_events: i64,
    pub volunteers_active: i64,
    pub volunteer_minutes: i64,
    pub children_assessed: i64,
}

impl Dataset {
    /// Whether `region` is `root` or lies below it.
    fn within(&self, region: Uuid, root: Option<Uuid>) -> bool {
        let Some(root) = root else { return true };
        let mut at = Some(region);
        while let Some(r) = at {
            if r == root {
                return true;
            }
            at = self.regions.get(&r).copied().flatten();
        }
        false
    }
}

pub fn summary(data: &Dataset, from: Option<NaiveDate>, to: NaiveDate, region: Option<Uuid>) -> Figures {
    let in_period = |day: NaiveDate| from.is_none_or(|f| day >= f) && day <= to;
    let child_region: HashMap<Uuid, Uuid> = data.children.iter().map(|c| (c.id, c.region)).collect();
    let children_registered = data
        .children
        .iter()
        .filter(|c| c.registered_on.is_some_and(in_period) && data.within(c.region, region))
        .count();
    let families: HashSet<Uuid> = data
        .contacts
        .iter()
        .filter(|c| c.kind == "phone_visit" && c.completed && in_period(time::local_date(c.at)))
        .filter_map(|c| c.household)
        .filter(|h| data.households.get(h).is_some_and(|r| data.within(*r, region)))
        .collect();
    let visited: HashSet<Uuid> = data
        .contacts
        .iter()
        .filter(|c| c.kind != "phone_visit" && c.completed && in_period(time::local_date(c.at)))
        .filter_map(|c| c.child)
        .filter(|c| child_region.get(c).is_some_and(|r| data.within(*r, region)))
        .collect();
    let held: Vec<&EventRecord> = data
        .events
        .iter()
        .filter(|e| {
            matches!(e.status, "held" | "reported")
                && in_period(time::local_date(e.starts_at))
                && data.within(e.region, region)
        })
        .collect();
    let held_ids: HashSet<Uuid> = held.iter().map(|e| e.id).collect();
    let mut events_held_by_type = EventsByType::default();
    for e in &held {
        events_held_by_type.add(e.event_type, 1);
    }
    let attending: HashSet<Uuid> =
        data.attendance.iter().filter(|(e, _)| held_ids.contains(e)).map(|(_, c)| *c).collect();
    let volunteers: HashSet<Uuid> =
        data.roster.iter().filter(|(e, _, _)| held_ids.contains(e)).map(|(_, v, _)| *v).collect();
    let volunteer_minutes =
        data.roster.iter().filter(|(e, _, _)| held_ids.contains(e)).map(|(_, _, m)| m).sum();
    let assessed: HashSet<Uuid> = data
        .assessments
        .iter()
        .filter(|(c, day)| in_period(*day) && child_region.get(c).is_some_and(|r| data.within(*r, region)))
        .map(|(c, _)| *c)
        .collect();
    let n = |x: usize| i64::try_from(x).unwrap_or(i64::MAX);
    Figures {
        children_registered: n(children_registered),
        families_phoned: n(families.len()),
        children_visited: n(visited.len()),
        events_held_by_type,
        children_attending_events: n(attending.len()),
        volunteers_active: n(volunteers.len()),
        volunteer_minutes,
        children_assessed: n(assessed.len()),
    }
}
