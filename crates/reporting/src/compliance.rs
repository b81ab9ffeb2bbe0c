//! The compliance report: what needs attention now, per rule (from the alert list), by the
//! relationships' regions.

use serde::Serialize;
use tongxing_core::Result;
use tongxing_pairing::cadence::PeriodStatus;
use tongxing_pairing::compliance::{self as alerts, AlertFilter};
use tongxing_store::DbConnection;
use utoipa::ToSchema;

use crate::csv::Table;
use crate::scope::{Scope, ScopeEcho};

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RuleNow {
    pub rule_code: String,
    /// Relationships whose last closed period was missed.
    pub missed: i64,
    /// Relationships whose current period is at risk.
    pub at_risk: i64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ComplianceReport {
    pub scope: ScopeEcho,
    pub rules: Vec<RuleNow>,
}

pub fn report(conn: &mut DbConnection, scope: &Scope) -> Result<ComplianceReport> {
    let filter = AlertFilter { region_id: scope.region_id, ..AlertFilter::default() };
    let mut rules: Vec<RuleNow> = Vec::new();
    for a in alerts::all_alerts(conn, &filter)? {
        let i = match rules.iter().position(|r| r.rule_code == a.rule_code) {
            Some(i) => i,
            None => {
                rules.push(RuleNow { rule_code: a.rule_code.clone(), missed: 0, at_risk: 0 });
                rules.len() - 1
            }
        };
        match a.status {
            PeriodStatus::Missed => rules[i].missed += 1,
            _ => rules[i].at_risk += 1,
        }
    }
    rules.sort_by(|a, b| a.rule_code.cmp(&b.rule_code));
    Ok(ComplianceReport { scope: scope.echo(), rules })
}

impl ComplianceReport {
    pub fn to_table(&self) -> Table {
        let mut t = Table::new(&["rule", "missed", "at_risk"]);
        for r in &self.rules {
            t.push(vec![r.rule_code.clone(), r.missed.to_string(), r.at_risk.to_string()]);
        }
        t
    }
}
