//! Small cells: a report answered to a caller who may not read every child it counts withholds
//! each figure computed from at least one and fewer than `threshold` children (or records about
//! them), as statistical offices do, so that a report filtered to a small place does not show one
//! identifiable child's scores, risk level or compliance.
//!
//! Which callers get suppressed reports is decided in [`crate::scope::Coverage::resolve`]. What
//! is withheld, for those:
//! - **primary**: every count of children, households, relationships or assessments (and every
//!   share standing for such a count) from 1 to `threshold - 1`. Zero is shown: it is about no
//!   child.
//! - **small groups**: every figure computed from a group of fewer than `threshold` children
//!   (the scores of a village's three children, their risk shares, a tally's `missed = 0`),
//!   zeros included, since it tells something about each member.
//! - **secondary**: where figures add up (cells to their total, one breakdown to another), a
//!   withheld figure must not be recomputable from the others: in every such relation with
//!   exactly one withheld figure, the smallest other figure is withheld too, until none is
//!   left with one. (A heuristic, the usual first line of statistical disclosure control; it
//!   stops recomputation from any one relation, not every combination of relations.)
//! - **derived**: a mean or share is withheld when any figure it is computed from is.
//!
//! Withheld figures are `null` in JSON (empty in CSV), and the answer's `suppression` names them
//! as JSON Pointers, so a program knows which are missing and why.

use serde::Serialize;
use utoipa::ToSchema;

/// The smallest number of children a published figure may rest on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Threshold(u32);

impl Threshold {
    /// Below 2 nothing would be withheld: the protection cannot be switched off.
    pub const MIN: u32 = 2;
    pub const MAX: u32 = 100;
    /// As statistical offices commonly use.
    pub const DEFAULT: Threshold = Threshold(5);

    pub fn new(n: u32) -> Option<Threshold> {
        (Self::MIN..=Self::MAX).contains(&n).then_some(Threshold(n))
    }

    pub fn get(self) -> u32 {
        self.0
    }

    fn small(self, n: i64) -> bool {
        n >= 1 && n < i64::from(self.0)
    }
}

impl Default for Threshold {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// Present in a report's answer when the caller may not read every child the report counts:
/// which figures were withheld, and below what.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Suppression {
    /// Figures resting on at least one and fewer than this many children are withheld.
    pub threshold: u32,
    /// The withheld figures, as JSON Pointers (RFC 6901) into this answer (e.g.
    /// `/dimensions/0/scores/1`); each is `null` there, and empty in the CSV form. Includes
    /// figures withheld only so that another cannot be recomputed from them.
    pub suppressed: Vec<String>,
}

/// Where a figure lives in the report being protected.
pub(crate) enum Slot<'a> {
    Count(&'a mut Option<i64>),
    Ratio(&'a mut Option<f64>),
    /// A count the answer does not show, but a reader may work out (e.g. relationships whose
    /// period is still open): known in every relation, never withheld.
    Hidden,
}

struct Cell<'a> {
    pointer: String,
    slot: Slot<'a>,
    /// Withheld when small (the primary and small-group rules); in a partial grid only the
    /// cells [`Grid::protect`] marks.
    protected: bool,
    /// The children (or records) the figure counts, for the primary rule; `None` for figures
    /// that are not counts (means, events attended).
    n: Option<i64>,
    withheld: bool,
}

/// The figures of one report and how they relate; [`Grid::finish`] withholds what must be.
pub(crate) struct Grid<'a> {
    threshold: Threshold,
    /// Whether every count is protected, or only those [`Grid::protect`] marks.
    all: bool,
    cells: Vec<Cell<'a>>,
    /// Sets of figures linked by an addition (a total and its parts, or two breakdowns of one
    /// total): any one of them follows from the others.
    relations: Vec<Vec<usize>>,
    /// A group's size, and the figures computed from the group.
    groups: Vec<(usize, Vec<usize>)>,
    /// A figure and those it is computed from.
    derived: Vec<(usize, Vec<usize>)>,
}

impl<'a> Grid<'a> {
    pub(crate) fn new(threshold: Threshold) -> Self {
        Grid {
            threshold,
            all: true,
            cells: Vec::new(),
            relations: Vec::new(),
            groups: Vec::new(),
            derived: Vec::new(),
        }
    }

    /// A grid for a caller who may read most of what the report counts: only the counts
    /// [`Grid::protect`] marks (children the caller may not read, such as those of villages
    /// outside a coordinator's region) are withheld when small; the others only when needed so
    /// that a withheld one cannot be recomputed.
    pub(crate) fn partial(threshold: Threshold) -> Self {
        Grid { all: false, ..Grid::new(threshold) }
    }

    /// In a partial grid, `cell` counts children the caller may not read.
    pub(crate) fn protect(&mut self, cell: usize) {
        self.cells[cell].protected = true;
    }

    fn push(&mut self, pointer: String, slot: Slot<'a>, n: Option<i64>) -> usize {
        self.cells.push(Cell { pointer, slot, protected: self.all, n, withheld: false });
        self.cells.len() - 1
    }

    /// A count of children or of records about them: withheld when small.
    pub(crate) fn count(&mut self, pointer: String, slot: &'a mut Option<i64>) -> usize {
        let n = slot.unwrap_or(0);
        self.push(pointer, Slot::Count(slot), Some(n))
    }

    /// A share standing for a count of `n` records: withheld as that count would be.
    pub(crate) fn share(&mut self, pointer: String, slot: &'a mut Option<f64>, n: i64) -> usize {
        self.push(pointer, Slot::Ratio(slot), Some(n))
    }

    /// A figure that is not itself a count of children (a mean, the events a group attended):
    /// withheld only through [`Grid::within`] or [`Grid::derived`].
    pub(crate) fn figure(&mut self, pointer: String, slot: Slot<'a>) -> usize {
        self.push(pointer, slot, None)
    }

    /// A count the answer does not show but a reader may know.
    pub(crate) fn hidden(&mut self, n: i64) -> usize {
        self.push(String::new(), Slot::Hidden, Some(n))
    }

    /// `cells` are linked by an addition: any one follows from the others.
    pub(crate) fn adds_up(&mut self, cells: Vec<usize>) {
        self.relations.push(cells);
    }

    /// Every figure of `members` is computed from the group that `size` counts.
    pub(crate) fn within(&mut self, size: usize, members: &[usize]) {
        self.groups.push((size, members.to_vec()));
    }

    /// `cell` is computed from `from`.
    pub(crate) fn derived(&mut self, cell: usize, from: &[usize]) {
        self.derived.push((cell, from.to_vec()));
    }

    fn withhold(&mut self, i: usize) -> bool {
        let cell = &mut self.cells[i];
        if cell.withheld || matches!(cell.slot, Slot::Hidden) {
            return false;
        }
        cell.withheld = true;
        true
    }

    /// Works out what to withhold, sets it to `null`, and says what it withheld.
    pub(crate) fn finish(mut self) -> Suppression {
        let t = self.threshold;
        for i in 0..self.cells.len() {
            if self.cells[i].protected && self.cells[i].n.is_some_and(|n| t.small(n)) {
                self.withhold(i);
            }
        }
        for (size, members) in std::mem::take(&mut self.groups) {
            if self.cells[size].protected && self.cells[size].n.is_some_and(|n| t.small(n)) {
                for m in members {
                    self.withhold(m);
                }
            }
        }
        let relations = std::mem::take(&mut self.relations);
        let derived = std::mem::take(&mut self.derived);
        loop {
            let mut changed = false;
            for r in &relations {
                if r.iter().filter(|&&i| self.cells[i].withheld).count() != 1 {
                    continue;
                }
                // The smallest other figure shown, preferring one that is not zero.
                let candidate = r
                    .iter()
                    .copied()
                    .filter(|&i| !self.cells[i].withheld && !matches!(self.cells[i].slot, Slot::Hidden))
                    .min_by_key(|&i| {
                        let n = self.cells[i].n.unwrap_or(0);
                        (n == 0, n, i)
                    });
                if let Some(i) = candidate {
                    changed |= self.withhold(i);
                }
            }
            for (cell, from) in &derived {
                if from.iter().any(|&i| self.cells[i].withheld) {
                    changed |= self.withhold(*cell);
                }
            }
            if !changed {
                break;
            }
        }
        let mut suppressed = Vec::new();
        for cell in self.cells {
            if !cell.withheld {
                continue;
            }
            match cell.slot {
                Slot::Count(v) => *v = None,
                Slot::Ratio(v) => *v = None,
                Slot::Hidden => continue,
            }
            suppressed.push(cell.pointer);
        }
        Suppression { threshold: t.get(), suppressed }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_threshold_cannot_switch_the_rule_off() {
        assert_eq!(Threshold::new(1), None);
        assert_eq!(Threshold::new(0), None);
        assert_eq!(Threshold::new(2).map(Threshold::get), Some(2));
        assert_eq!(Threshold::default().get(), 5);
        assert!(Threshold::new(101).is_none());
    }

    #[test]
    fn small_counts_are_withheld_and_zero_is_shown() {
        let (mut a, mut b, mut c, mut d) = (Some(0), Some(1), Some(4), Some(5));
        let mut g = Grid::new(Threshold::default());
        for (p, v) in [("/a", &mut a), ("/b", &mut b), ("/c", &mut c), ("/d", &mut d)] {
            g.count(p.into(), v);
        }
        let s = g.finish();
        assert_eq!(s.suppressed, ["/b", "/c"]);
        assert_eq!((a, b, c, d), (Some(0), None, None, Some(5)));
    }

    #[test]
    fn one_withheld_part_of_a_total_takes_the_smallest_other_with_it() {
        // 20 = 2 + 0 + 7 + 11: the 2 is small; 7 goes too, or 2 = 20 - 0 - 7 - 11.
        let mut cells = [Some(20), Some(2), Some(0), Some(7), Some(11)];
        let mut g = Grid::new(Threshold::default());
        let ids: Vec<usize> =
            cells.iter_mut().enumerate().map(|(i, c)| g.count(format!("/{i}"), c)).collect();
        g.adds_up(ids);
        let s = g.finish();
        assert_eq!(s.suppressed, ["/1", "/3"]);
        assert_eq!(cells, [Some(20), None, Some(0), None, Some(11)]);
    }

    #[test]
    fn a_small_group_withholds_all_its_figures_and_derived_ones_follow() {
        // Three children, all scored 4: the zeros would tell each child's score.
        let mut children = Some(3);
        let mut scores = [Some(0), Some(0), Some(0), Some(3), Some(0)];
        let mut mean = Some(4.0);
        let mut g = Grid::new(Threshold::default());
        let size = g.count("/children".into(), &mut children);
        let cells: Vec<usize> =
            scores.iter_mut().enumerate().map(|(i, s)| g.count(format!("/scores/{i}"), s)).collect();
        let m = g.figure("/mean".into(), Slot::Ratio(&mut mean));
        g.derived(m, &cells);
        let mut all = cells.clone();
        all.push(m);
        g.within(size, &all);
        let s = g.finish();
        assert_eq!(s.suppressed.len(), 7);
        assert_eq!(scores, [None; 5]);
        assert_eq!((children, mean), (None, None));
    }

    #[test]
    fn hidden_figures_are_known_but_never_chosen() {
        // active 9 = met 3 + missed 0 + exempt 0 + open 6 (not shown): with met withheld, the
        // open count is assumed known, so active must go.
        let (mut active, mut met, mut missed, mut exempt) = (Some(9), Some(3), Some(0), Some(0));
        let mut g = Grid::new(Threshold::default());
        let a = g.count("/active".into(), &mut active);
        let m = g.count("/met".into(), &mut met);
        let x = g.count("/missed".into(), &mut missed);
        let e = g.count("/exempt".into(), &mut exempt);
        let o = g.hidden(6);
        g.adds_up(vec![a, m, x, e, o]);
        let s = g.finish();
        assert_eq!(s.suppressed, ["/active", "/met"]);
    }
}
