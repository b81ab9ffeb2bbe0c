//! Possible duplicate children, for a coordinator to review.
//!
//! A national ID number names one child, but a caseworker may record a child whose number is
//! already held by a case outside their scope (another organisation's, another town's). Refusing
//! with "taken" would tell them that such a child exists; so the record is kept, and the pair goes
//! to the review queue of the coordinators who reach both children. A number already held within
//! the caller's own scope is refused as before (409 `national_id_taken`, naming the record they
//! can read).
//!
//! Without a shared number, the similarity rule ([`crate::similarity`]) scores the child against
//! the records that could be the same child: those born the same day or on the day with day and
//! month swapped, those in the same household, and those of the same name in the same village.
//! Every pair at or over the threshold joins the queue (`similar`), whoever can see the other
//! record; the caller learns of the ones in their own scope only, through
//! [`possible_duplicates`].

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use tongxing_core::Code;
use tongxing_core::access::Scope;
use tongxing_core::page::{Page, PageRequest};
use tongxing_core::{Error, Result, id, time};
use tongxing_store::schema::{children, duplicate_reviews, guardians};
use tongxing_store::{DbConnection, DbId, DbText, map_db_error};
use utoipa::ToSchema;
use uuid::Uuid;
use validator::Validate;

use crate::children::{Child, Sex};
use crate::scope::{self, Access, condition};
use crate::similarity::{self, Likeness, Profile, Signal};
use crate::util::{Versioned, check_version, clean, not_found_as, parse_id, parse_opt_id};

text_enum! {
    /// Why two records may be the same child.
    pub enum DuplicateReason {
        /// Both carry the same national ID number.
        NationalId => "national_id",
        /// The similarity rule scores the pair at 60 or more (`score`, `signals`).
        Similar => "similar",
    }
}

text_enum! {
    /// A coordinator's finding.
    pub enum DuplicateOutcome {
        /// One child recorded twice; the records are to be merged by hand.
        SameChild => "same_child",
        /// Two children (a number entered wrongly on one of them).
        DifferentChildren => "different_children",
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DuplicateReview {
    pub id: Uuid,
    /// The record whose creation or change found the other.
    pub child_id: Uuid,
    /// The record it may duplicate.
    pub other_child_id: Uuid,
    pub reason: DuplicateReason,
    pub found_by: Uuid,
    pub found_at: DateTime<Utc>,
    /// Absent while the review is open.
    pub outcome: Option<DuplicateOutcome>,
    pub note: Option<String>,
    pub resolved_by: Option<Uuid>,
    pub resolved_at: Option<DateTime<Utc>>,
    /// The version that `ETag` and `If-Match` carry.
    pub version: i32,
    /// For `similar` pairs: the rule's score when the pair was last scored (60 or more).
    pub score: Option<i32>,
    /// For `similar` pairs: the signals behind the score.
    pub signals: Vec<Signal>,
}

#[derive(Debug, Clone, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct Dismissal {
    /// Why the two records are two children (kept as the review's note).
    #[validate(length(min = 1, max = 2000))]
    #[schema(min_length = 1, max_length = 2000)]
    pub reason: String,
}

/// A record that may be the same child as the one asked about.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PossibleDuplicate {
    /// The other record, as the caller's own read of it answers.
    pub child: Child,
    #[serde(flatten)]
    pub likeness: Likeness,
    /// The open review of the pair in the coordinators' queue, if there is one.
    pub review_id: Option<Uuid>,
}

#[derive(Debug, Clone, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct DuplicateResolution {
    pub outcome: DuplicateOutcome,
    #[validate(length(max = 2000))]
    #[schema(max_length = 2000)]
    pub note: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct DuplicateFilter {
    /// Only open (`true`) or resolved (`false`) reviews.
    pub open: Option<bool>,
    /// Reviews naming this child on either side.
    pub child_id: Option<Uuid>,
    /// Only reviews found this way.
    pub reason: Option<DuplicateReason>,
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = duplicate_reviews)]
struct Row {
    id: DbId,
    child_id: DbId,
    other_child_id: DbId,
    reason: DbText<DuplicateReason>,
    found_by: String,
    found_at: chrono::NaiveDateTime,
    outcome: Option<DbText<DuplicateOutcome>>,
    note: Option<String>,
    resolved_by: Option<String>,
    resolved_at: Option<chrono::NaiveDateTime>,
    version: i32,
    score: Option<i32>,
    signals: Option<String>,
}

impl Row {
    fn into_review(self) -> Result<DuplicateReview> {
        Ok(DuplicateReview {
            id: self.id.0,
            child_id: self.child_id.0,
            other_child_id: self.other_child_id.0,
            reason: self.reason.0,
            found_by: parse_id(&self.found_by)?,
            found_at: time::from_db(self.found_at),
            outcome: self.outcome.map(|x| x.0),
            note: self.note,
            resolved_by: parse_opt_id(self.resolved_by.as_deref())?,
            resolved_at: self.resolved_at.map(time::from_db),
            version: self.version,
            score: self.score,
            signals: self
                .signals
                .as_deref()
                .unwrap_or_default()
                .split(',')
                .filter(|s| !s.is_empty())
                .map(Signal::from_db)
                .collect::<Result<_>>()?,
        })
    }
}

/// The other children holding `national_id`: refused (409 naming it) when one of them is in the
/// caller's scope; otherwise the ones outside it, for [`record`] after the write.
pub fn holders(
    conn: &mut DbConnection,
    scope: &Scope,
    national_id: &str,
    except: Option<Uuid>,
) -> Result<Vec<Uuid>> {
    let mut q =
        children::table.filter(children::national_id.eq(national_id)).select(children::id).into_boxed();
    if let Some(me) = except {
        q = q.filter(children::id.ne(DbId(me)));
    }
    let all: Vec<String> = q.load(conn).map_err(map_db_error)?;
    if all.is_empty() {
        return Ok(Vec::new());
    }
    let mut visible = children::table.filter(children::id.eq_any(&all)).select(children::id).into_boxed();
    if let Some(cond) = scope::child_column(conn, scope, "children.id")? {
        visible = visible.filter(cond);
    }
    if let Some(seen) = visible.first::<String>(conn).optional().map_err(map_db_error)? {
        return Err(Error::conflict_with(
            Code::NationalIdTaken,
            "a child with this national ID number is already recorded",
            parse_id(&seen)?,
        ));
    }
    all.iter().map(|s| parse_id(s)).collect()
}

/// Puts `child` and each of `others` on the review queue (once per pair).
pub(crate) fn record(conn: &mut DbConnection, scope: &Scope, child: Uuid, others: &[Uuid]) -> Result<()> {
    let now = time::to_db(time::now());
    for other in others {
        let (a, b) = (child.to_string(), other.to_string());
        let known: i64 = duplicate_reviews::table
            .filter(
                (duplicate_reviews::child_id.eq(&a).and(duplicate_reviews::other_child_id.eq(&b)))
                    .or(duplicate_reviews::child_id.eq(&b).and(duplicate_reviews::other_child_id.eq(&a))),
            )
            .filter(duplicate_reviews::reason.eq(DuplicateReason::NationalId.as_str()))
            .count()
            .get_result(conn)
            .map_err(map_db_error)?;
        if known > 0 {
            continue;
        }
        diesel::insert_into(duplicate_reviews::table)
            .values((
                duplicate_reviews::id.eq(id::new_id().to_string()),
                duplicate_reviews::child_id.eq(&a),
                duplicate_reviews::other_child_id.eq(&b),
                duplicate_reviews::reason.eq(DuplicateReason::NationalId.as_str()),
                duplicate_reviews::found_by.eq(DbId(scope.actor())),
                duplicate_reviews::found_at.eq(now),
            ))
            .execute(conn)
            .map_err(map_db_error)?;
    }
    Ok(())
}

/// Reviews whose two children the caller both reaches: a coordinator limited to a region sees the
/// pairs inside it; pairs across regions go to coordinators who reach both.
fn reachable(
    conn: &mut DbConnection,
    scope: &Scope,
) -> Result<Option<scope::Condition<duplicate_reviews::table>>> {
    Ok(scope::child_ids(conn, scope)?.map(|ids| {
        condition(format!(
            "(duplicate_reviews.child_id IN ({ids}) AND duplicate_reviews.other_child_id IN ({ids}))"
        ))
    }))
}

/// The review queue, oldest first.
pub fn list(
    conn: &mut DbConnection,
    scope: &Scope,
    filter: &DuplicateFilter,
    page: PageRequest,
) -> Result<Page<DuplicateReview>> {
    let mut q =
        duplicate_reviews::table.select(Row::as_select()).order(duplicate_reviews::id.asc()).into_boxed();
    if let Some(cond) = reachable(conn, scope)? {
        q = q.filter(cond);
    }
    q = match filter.open {
        Some(true) => q.filter(duplicate_reviews::resolved_at.is_null()),
        Some(false) => q.filter(duplicate_reviews::resolved_at.is_not_null()),
        None => q,
    };
    if let Some(c) = filter.child_id {
        let c = c.to_string();
        q = q.filter(duplicate_reviews::child_id.eq(c.clone()).or(duplicate_reviews::other_child_id.eq(c)));
    }
    if let Some(r) = filter.reason {
        q = q.filter(duplicate_reviews::reason.eq(r.as_str()));
    }
    if let Some(after) = page.after {
        q = q.filter(duplicate_reviews::id.gt(DbId(after)));
    }
    let rows = q.limit(page.fetch()).load::<Row>(conn).map_err(map_db_error)?;
    let items = rows.into_iter().map(Row::into_review).collect::<Result<Vec<_>>>()?;
    Ok(Page::from_rows(items, page.limit, |r| r.id))
}

/// The review, if the caller reaches both its children; otherwise not found.
pub fn get(conn: &mut DbConnection, scope: &Scope, id: Uuid) -> Result<Versioned<DuplicateReview>> {
    let mut q = duplicate_reviews::table
        .filter(duplicate_reviews::id.eq(DbId(id)))
        .select(Row::as_select())
        .into_boxed();
    if let Some(cond) = reachable(conn, scope)? {
        q = q.filter(cond);
    }
    let r = q.first(conn).map_err(not_found_as("duplicate review"))?.into_review()?;
    Ok(Versioned { version: r.version, record: r })
}

/// Records a coordinator's finding; a review is resolved once. Answers it before and after.
pub fn resolve(
    conn: &mut DbConnection,
    scope: &Scope,
    id: Uuid,
    resolution: DuplicateResolution,
    expected: Option<i32>,
) -> Result<(Versioned<DuplicateReview>, Versioned<DuplicateReview>)> {
    let current = get(conn, scope, id)?;
    if let Some(v) = expected {
        check_version(current.version, v)?;
    }
    if current.record.resolved_at.is_some() {
        return Err(Error::conflict(Code::AlreadyResolved, "this review has already been resolved"));
    }
    let changed = diesel::update(
        duplicate_reviews::table
            .filter(duplicate_reviews::id.eq(DbId(id)))
            .filter(duplicate_reviews::version.eq(current.version)),
    )
    .set((
        duplicate_reviews::outcome.eq(Some(resolution.outcome.as_str())),
        duplicate_reviews::note.eq(clean(resolution.note)),
        duplicate_reviews::resolved_by.eq(Some(scope.actor().to_string())),
        duplicate_reviews::resolved_at.eq(Some(time::to_db(time::now()))),
        duplicate_reviews::version.eq(current.version + 1),
    ))
    .execute(conn)
    .map_err(map_db_error)?;
    if changed == 0 {
        return Err(Error::PreconditionFailed);
    }
    let after = get(conn, scope, id)?;
    Ok((current, after))
}

/// Marks the pair as two children, with the reason; a review is resolved once.
pub fn dismiss(
    conn: &mut DbConnection,
    scope: &Scope,
    id: Uuid,
    dismissal: Dismissal,
    expected: Option<i32>,
) -> Result<(Versioned<DuplicateReview>, Versioned<DuplicateReview>)> {
    let reason = dismissal.reason.trim().to_owned();
    if reason.is_empty() {
        return Err(Error::field("reason", "blank", "say why the two records are two children"));
    }
    let resolution = DuplicateResolution { outcome: DuplicateOutcome::DifferentChildren, note: Some(reason) };
    resolve(conn, scope, id, resolution, expected)
}

/// id, name, birth date, sex, national ID, household, region.
type ProfileRow = (String, String, NaiveDate, DbText<Sex>, Option<String>, Option<String>, String);

/// The profiles of these children, with their households' guardians' phone numbers.
pub(crate) fn profiles(conn: &mut DbConnection, ids: &[String]) -> Result<Vec<Profile>> {
    // In parts, to stay within SQLite's limit on bound values.
    const PART: usize = 5_000;
    let mut rows: Vec<ProfileRow> = Vec::with_capacity(ids.len());
    for part in ids.chunks(PART) {
        rows.extend(
            children::table
                .filter(children::id.eq_any(part))
                .select((
                    children::id,
                    children::name,
                    children::birth_date,
                    children::sex,
                    children::national_id,
                    children::household_id,
                    children::region_id,
                ))
                .load::<ProfileRow>(conn)
                .map_err(map_db_error)?,
        );
    }
    let households: Vec<&String> =
        rows.iter().filter_map(|r| r.5.as_ref()).collect::<HashSet<_>>().into_iter().collect();
    let mut phones: HashMap<String, Vec<String>> = HashMap::new();
    for part in households.chunks(PART) {
        let found: Vec<(String, Option<String>)> = guardians::table
            .filter(guardians::household_id.eq_any(part))
            .filter(guardians::phone.is_not_null())
            .select((guardians::household_id, guardians::phone))
            .load(conn)
            .map_err(map_db_error)?;
        for (h, phone) in found {
            if let Some(key) = phone.as_deref().and_then(similarity::phone_key) {
                phones.entry(h).or_default().push(key);
            }
        }
    }
    rows.into_iter()
        .map(|(id, name, birth_date, sex, national_id, household_id, region_id)| {
            Ok(Profile {
                id: parse_id(&id)?,
                name,
                birth_date,
                sex: sex.0,
                national_id,
                phones: household_id.as_ref().and_then(|h| phones.get(h)).cloned().unwrap_or_default(),
                household_id: parse_opt_id(household_id.as_deref())?,
                region_id: parse_id(&region_id)?,
            })
        })
        .collect()
}

/// At most this many records are scored for one child (a village of namesakes, a day of many
/// births); the nearest by the retrieval's order are kept.
const MAX_SCORED: i64 = 500;

/// Every recorded child that the rule finds a possible duplicate of `child` (which need not be
/// recorded itself: an import row is scored before it exists), whatever the caller's scope,
/// best first. Found by index: birth date (exact or swapped), household, and name in the
/// village, then scored.
pub fn candidates(conn: &mut DbConnection, child: &Profile) -> Result<Vec<(Profile, Likeness)>> {
    Ok(candidates_of_each(conn, std::slice::from_ref(child))?.pop().unwrap_or_default())
}

/// [`candidates`] for each of `those` (an import's rows), with one lookup of each kind for them
/// all rather than three for each.
pub fn candidates_of_each(
    conn: &mut DbConnection,
    those: &[Profile],
) -> Result<Vec<Vec<(Profile, Likeness)>>> {
    let days = |p: &Profile| std::iter::once(p.birth_date).chain(similarity::swapped(p.birth_date));
    let mut born: Vec<NaiveDate> = those.iter().flat_map(days).collect();
    born.sort_unstable();
    born.dedup();
    let mut by_day: HashMap<NaiveDate, Vec<String>> = HashMap::new();
    for (id, day) in children::table
        .filter(children::birth_date.eq_any(&born))
        .select((children::id, children::birth_date))
        .order(children::id)
        .load::<(String, NaiveDate)>(conn)
        .map_err(map_db_error)?
    {
        by_day.entry(day).or_default().push(id);
    }
    let villages: HashSet<String> = those.iter().map(|p| p.region_id.to_string()).collect();
    let names: HashSet<&str> = those.iter().map(|p| p.name.trim()).collect();
    let mut by_name: HashMap<(String, String), Vec<String>> = HashMap::new();
    for (id, region, name) in children::table
        .filter(children::region_id.eq_any(&villages))
        .filter(children::name.eq_any(&names))
        .select((children::id, children::region_id, children::name))
        .order(children::id)
        .load::<(String, String, String)>(conn)
        .map_err(map_db_error)?
    {
        by_name.entry((region, name)).or_default().push(id);
    }
    let households: HashSet<String> =
        those.iter().filter_map(|p| p.household_id).map(|h| h.to_string()).collect();
    let mut by_household: HashMap<String, Vec<String>> = HashMap::new();
    if !households.is_empty() {
        for (id, household) in children::table
            .filter(children::household_id.eq_any(&households))
            .select((children::id, children::household_id.assume_not_null()))
            .order(children::id)
            .load::<(String, String)>(conn)
            .map_err(map_db_error)?
        {
            by_household.entry(household).or_default().push(id);
        }
    }
    let limit = usize::try_from(MAX_SCORED).unwrap_or(usize::MAX);
    let found: Vec<Vec<String>> = those
        .iter()
        .map(|p| {
            let me = p.id.to_string();
            let mut ids: Vec<String> = Vec::new();
            // At most `limit` of each kind: the birth date and its swap count as one kind.
            let mut take = |lists: Vec<Option<&Vec<String>>>| {
                ids.extend(
                    lists.into_iter().flatten().flatten().filter(|id| **id != me).take(limit).cloned(),
                );
            };
            take(days(p).map(|day| by_day.get(&day)).collect());
            take(vec![by_name.get(&(p.region_id.to_string(), p.name.trim().to_string()))]);
            take(vec![p.household_id.and_then(|h| by_household.get(&h.to_string()))]);
            ids.sort_unstable();
            ids.dedup();
            ids
        })
        .collect();
    let mut all: Vec<String> = found.iter().flatten().cloned().collect();
    all.sort_unstable();
    all.dedup();
    let recorded: HashMap<String, Profile> =
        profiles(conn, &all)?.into_iter().map(|p| (p.id.to_string(), p)).collect();
    Ok(those
        .iter()
        .zip(found)
        .map(|(child, ids)| {
            let mut scored: Vec<(Profile, Likeness)> = ids
                .iter()
                .filter_map(|id| recorded.get(id))
                .filter_map(|other| similarity::possible_duplicate(child, other).map(|l| (other.clone(), l)))
                .collect();
            scored.sort_by(|a, b| b.1.score.cmp(&a.1.score).then(a.0.id.cmp(&b.0.id)));
            scored
        })
        .collect())
}

/// After `child` was recorded or changed: every possible duplicate joins the review queue as a
/// `similar` pair, in or out of the caller's scope (a pair already there is re-scored while
/// open; a pair a coordinator dismissed stays dismissed). Pairs sharing a national ID number are
/// queued by [`record`].
pub(crate) fn scan(conn: &mut DbConnection, scope: &Scope, child: Uuid) -> Result<()> {
    let Some(me) = profiles(conn, &[child.to_string()])?.pop() else {
        return Ok(());
    };
    let now = time::to_db(time::now());
    for (other, likeness) in candidates(conn, &me)? {
        if likeness.signals.contains(&Signal::SameNationalId) {
            continue;
        }
        let (a, b) = (child.to_string(), other.id.to_string());
        let signals = likeness.signals.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(",");
        let pair = duplicate_reviews::table
            .filter(
                (duplicate_reviews::child_id.eq(&a).and(duplicate_reviews::other_child_id.eq(&b)))
                    .or(duplicate_reviews::child_id.eq(&b).and(duplicate_reviews::other_child_id.eq(&a))),
            )
            .filter(duplicate_reviews::reason.eq(DuplicateReason::Similar.as_str()));
        let known: Option<(String, Option<chrono::NaiveDateTime>)> = pair
            .select((duplicate_reviews::id, duplicate_reviews::resolved_at))
            .first(conn)
            .optional()
            .map_err(map_db_error)?;
        match known {
            Some((_, Some(_))) => {}
            Some((id, None)) => {
                diesel::update(duplicate_reviews::table.filter(duplicate_reviews::id.eq(id)))
                    .set((
                        duplicate_reviews::score.eq(likeness.score),
                        duplicate_reviews::signals.eq(signals),
                    ))
                    .execute(conn)
                    .map_err(map_db_error)?;
            }
            None => {
                // In a savepoint: a concurrent write may have queued the pair first (the unique
                // pair key), which is as good.
                let queued = tongxing_store::transaction(conn, |c| {
                    diesel::insert_into(duplicate_reviews::table)
                        .values((
                            duplicate_reviews::id.eq(id::new_id().to_string()),
                            duplicate_reviews::child_id.eq(&a),
                            duplicate_reviews::other_child_id.eq(&b),
                            duplicate_reviews::reason.eq(DuplicateReason::Similar.as_str()),
                            duplicate_reviews::found_by.eq(DbId(scope.actor())),
                            duplicate_reviews::found_at.eq(now),
                            duplicate_reviews::score.eq(likeness.score),
                            duplicate_reviews::signals.eq(&signals),
                        ))
                        .execute(c)
                        .map_err(map_db_error)
                });
                match queued {
                    Ok(_) | Err(Error::Conflict { .. }) => {}
                    Err(e) => return Err(e),
                }
            }
        }
    }
    Ok(())
}

/// The records in the caller's scope that may be the same child as `child`, best first; pairs a
/// coordinator found to be two children are left out.
pub fn possible_duplicates(
    conn: &mut DbConnection,
    scope: &Scope,
    child: Uuid,
) -> Result<Vec<PossibleDuplicate>> {
    scope::require_child(conn, scope, Access::Read, child, "child")?;
    let Some(me) = profiles(conn, &[child.to_string()])?.pop() else {
        return Err(Error::not_found("child"));
    };
    let found = candidates(conn, &me)?;
    if found.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<String> = found.iter().map(|(p, _)| p.id.to_string()).collect();
    let mut visible = children::table.filter(children::id.eq_any(&ids)).select(children::id).into_boxed();
    if let Some(cond) = scope::child_column(conn, scope, "children.id")? {
        visible = visible.filter(cond);
    }
    let visible: HashSet<String> = visible.load(conn).map_err(map_db_error)?.into_iter().collect();
    let me = child.to_string();
    let reviews: Vec<(String, String, String, Option<DbText<DuplicateOutcome>>)> = duplicate_reviews::table
        .filter(duplicate_reviews::child_id.eq(&me).or(duplicate_reviews::other_child_id.eq(&me)))
        .select((
            duplicate_reviews::id,
            duplicate_reviews::child_id,
            duplicate_reviews::other_child_id,
            duplicate_reviews::outcome,
        ))
        .load(conn)
        .map_err(map_db_error)?;
    let mut open = HashMap::new();
    let mut dismissed = HashSet::new();
    for (id, a, b, outcome) in reviews {
        let other = if a == me { b } else { a };
        match outcome.map(|o| o.0) {
            Some(DuplicateOutcome::DifferentChildren) => {
                dismissed.insert(other);
            }
            Some(DuplicateOutcome::SameChild) => {}
            None => {
                open.insert(other, parse_id(&id)?);
            }
        }
    }
    let mut out = Vec::new();
    for (other, likeness) in found {
        let key = other.id.to_string();
        if !visible.contains(&key) || dismissed.contains(&key) {
            continue;
        }
        let record = crate::children::get(conn, scope, other.id)?.record;
        out.push(PossibleDuplicate { child: record, likeness, review_id: open.get(&key).copied() });
    }
    Ok(out)
}
