//! Problem answers in Simplified Chinese or English, chosen by `Accept-Language` (RFC 9110
//! 12.5.4, q-values honoured; `TONGXING_DEFAULT_LANGUAGE` when it names neither, `zh-CN` unless
//! configured). The messages live in Fluent catalogues (`locales/<language>/problems.ftl`):
//! a title per status, a message per problem `code`, and a message per field error `code`
//! (with the field as `$field`). The [`localize`] middleware rewrites every
//! `application/problem+json` answer into the chosen language, whoever produced it (the guard,
//! an extractor or a handler), and says which in `Content-Language`. An English answer keeps the
//! handler's own detail and field messages, which name the values involved; a Chinese one takes
//! the catalogue's, and falls back to the English text for a field code the catalogue lacks
//! (a test fails when it lacks any it can find in the sources). Codes and field names stay
//! English in every language.

use std::sync::OnceLock;

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderValue};
use actix_web::middleware::Next;
use actix_web::web;
use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource};

use crate::problem::PROBLEM_JSON;
use crate::state::AppState;

/// A language the service answers in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    ZhCn,
    En,
}

impl Lang {
    pub const ALL: [Lang; 2] = [Lang::ZhCn, Lang::En];

    /// The language tag (`Content-Language`).
    pub fn tag(self) -> &'static str {
        match self {
            Lang::ZhCn => "zh-CN",
            Lang::En => "en",
        }
    }

    /// The language a tag names: `zh`, `zh-CN`, `zh-Hans`, … are Simplified Chinese; `en`, `en-*`
    /// English; anything else none of ours.
    pub fn of_tag(tag: &str) -> Option<Lang> {
        let primary = tag.split('-').next().unwrap_or_default().to_ascii_lowercase();
        let rest = tag.to_ascii_lowercase();
        match primary.as_str() {
            // Traditional Chinese is not served as Simplified.
            "zh" if ["zh-tw", "zh-hk", "zh-mo", "zh-hant"].iter().any(|t| rest.starts_with(t)) => None,
            "zh" => Some(Lang::ZhCn),
            "en" => Some(Lang::En),
            _ => None,
        }
    }

    /// The catalogues: problems, and the words of report tables.
    fn sources(self) -> [&'static str; 2] {
        match self {
            Lang::ZhCn => {
                [include_str!("../locales/zh-CN/problems.ftl"), include_str!("../locales/zh-CN/reports.ftl")]
            }
            Lang::En => {
                [include_str!("../locales/en/problems.ftl"), include_str!("../locales/en/reports.ftl")]
            }
        }
    }
}

/// The language an `Accept-Language` value prefers (the highest q-value among the tags naming a
/// language served; `*` is the default; ties go to the first), or `default`.
pub fn negotiate(accept: Option<&str>, default: Lang) -> Lang {
    let Some(accept) = accept else { return default };
    let mut best: Option<(f32, Lang)> = None;
    for range in accept.split(',') {
        let mut parts = range.split(';');
        let tag = parts.next().unwrap_or_default().trim();
        let q = parts
            .filter_map(|p| p.trim().strip_prefix("q=").or_else(|| p.trim().strip_prefix("Q=")))
            .find_map(|q| q.trim().parse::<f32>().ok())
            .unwrap_or(1.0);
        if !(q > 0.0 && q <= 1.0) {
            continue;
        }
        let lang = if tag == "*" { Some(default) } else { Lang::of_tag(tag) };
        if let Some(lang) = lang
            && best.is_none_or(|(bq, _)| q > bq)
        {
            best = Some((q, lang));
        }
    }
    best.map_or(default, |(_, lang)| lang)
}

/// The language a request asks for, or the deployment's default.
pub fn requested(req: &actix_web::HttpRequest) -> Lang {
    let default = req.app_data::<web::Data<AppState>>().map_or(Lang::ZhCn, |s| s.default_language);
    negotiate(req.headers().get(header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok()), default)
}

fn bundles() -> &'static [FluentBundle<FluentResource>; 2] {
    static BUNDLES: OnceLock<[FluentBundle<FluentResource>; 2]> = OnceLock::new();
    BUNDLES.get_or_init(|| {
        Lang::ALL.map(|lang| {
            let id: unic_langid::LanguageIdentifier = lang.tag().parse().unwrap_or_default();
            let mut bundle = FluentBundle::new_concurrent(vec![id]);
            // No Unicode isolation marks around arguments: field names are plain ASCII, and other
            // text arguments lose their bidirectional controls instead (`without_bidi_controls`).
            bundle.set_use_isolating(false);
            for source in lang.sources() {
                match FluentResource::try_new(source.to_owned()) {
                    Ok(resource) => {
                        if let Err(errors) = bundle.add_resource(resource) {
                            tracing::error!(language = lang.tag(), ?errors, "catalogue entries refused");
                        }
                    }
                    Err((_, errors)) => {
                        tracing::error!(language = lang.tag(), ?errors, "catalogue does not parse")
                    }
                }
            }
            bundle
        })
    })
}

/// The catalogue's message `id` in `lang`, with `field` as `$field` and no params; `None` when
/// it has none.
pub fn message(lang: Lang, id: &str, field: Option<&str>) -> Option<String> {
    format(lang, id, &args(field, None))
}

/// The catalogue's message `id` in `lang` with these arguments; `None` when it has none or an
/// argument is missing.
pub fn format(lang: Lang, id: &str, args: &FluentArgs) -> Option<String> {
    let bundle = &bundles()[Lang::ALL.iter().position(|l| *l == lang).unwrap_or(0)];
    let pattern = bundle.get_message(id)?.value()?;
    let mut errors = Vec::new();
    let text = bundle.format_pattern(pattern, Some(args), &mut errors);
    errors.is_empty().then(|| text.into_owned())
}

/// The message id of a problem's title, detail, and a field error's message.
pub fn title_id(status: u16) -> String {
    format!("title-{status}")
}

pub fn code_id(code: &str) -> String {
    format!("code-{}", code.replace('_', "-"))
}

pub fn field_id(code: &str) -> String {
    format!("field-{}", code.replace('_', "-"))
}

/// The message id of a report table's heading, label or definition (`kind` is one of those).
pub fn report_id(kind: &str, key: &str) -> String {
    format!("{kind}-{}", key.replace(['_', '.'], "-"))
}

/// The words of report tables in a language, from the catalogue (`locales/*/reports.ftl`). A key
/// the catalogue lacks (a test fails when it lacks any the tables ask for) is written as it is;
/// an English definition is the report's own.
pub struct ReportWords(pub Lang);

impl tongxing_reporting::csv::Words for ReportWords {
    fn heading(&self, key: &str) -> String {
        message(self.0, &report_id("heading", key), None).unwrap_or_else(|| key.to_owned())
    }

    fn label(&self, key: &str) -> String {
        message(self.0, &report_id("label", key), None).unwrap_or_else(|| key.to_owned())
    }

    fn definition(&self, key: &str, english: &str) -> String {
        match self.0 {
            Lang::En => english.to_owned(),
            lang => message(lang, &report_id("definition", key), None).unwrap_or_else(|| english.to_owned()),
        }
    }

    fn withheld(&self, cells: usize, threshold: u32) -> String {
        let mut args = FluentArgs::new();
        args.set("cells", cells);
        args.set("threshold", threshold);
        format(self.0, "note-withheld", &args)
            .unwrap_or_else(|| format!("{cells} cells are empty (fewer than {threshold} children)"))
    }
}

/// A problem document in `lang`: the title always from the catalogue; the detail and the field
/// messages from it in Chinese (English keeps the handler's own).
fn translate(problem: &mut serde_json::Value, lang: Lang) {
    let status = problem.get("status").and_then(|s| s.as_u64()).unwrap_or_default() as u16;
    if let Some(title) = message(lang, &title_id(status), None) {
        problem["title"] = title.into();
    }
    if lang == Lang::En {
        return;
    }
    let detail = problem.get("code").and_then(|c| c.as_str()).and_then(|c| {
        let params = problem.get("params").and_then(|p| p.as_object());
        format(lang, &code_id(c), &args(None, params))
    });
    if let Some(detail) = detail {
        problem["detail"] = detail.into();
    }
    if let Some(errors) = problem.get_mut("errors").and_then(|e| e.as_array_mut()) {
        for error in errors {
            let (Some(field), Some(code)) =
                (error.get("field").and_then(|f| f.as_str()), error.get("code").and_then(|c| c.as_str()))
            else {
                continue;
            };
            let params = error.get("params").and_then(|p| p.as_object());
            if let Some(text) = format(lang, &field_id(code), &args(Some(field), params)) {
                error["message"] = text.into();
            }
        }
    }
}

/// A message's arguments: a field error's `$field`, each of the `params` by its name, and `$has`,
/// the names of the params present, sorted and joined by `-` (`max-min`, `days`, or empty), on
/// which a message selects its wording: a value it was not given is never named.
fn args<'a>(
    field: Option<&'a str>,
    params: Option<&'a serde_json::Map<String, serde_json::Value>>,
) -> FluentArgs<'a> {
    let mut args = FluentArgs::new();
    if let Some(field) = field {
        args.set("field", field);
    }
    let mut names = Vec::new();
    for (name, value) in params.into_iter().flatten() {
        match value {
            serde_json::Value::Number(n) if n.is_i64() => {
                args.set(name.as_str(), n.as_i64().unwrap_or_default())
            }
            serde_json::Value::Number(n) => args.set(name.as_str(), n.as_f64().unwrap_or_default()),
            // Text as it is, without the controls that would reorder the message around it
            // (isolation marks are off, for the ASCII field names).
            other => {
                let text = other.as_str().map_or_else(|| other.to_string(), str::to_owned);
                args.set(name.as_str(), without_bidi_controls(text))
            }
        }
        names.push(name.as_str());
    }
    names.sort_unstable();
    args.set("has", names.join("-"));
    args
}

/// `text` without Unicode's bidirectional controls (embeddings, overrides, isolates, marks).
fn without_bidi_controls(text: String) -> String {
    let control = |c: char| matches!(c, '\u{200e}' | '\u{200f}' | '\u{061c}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}');
    if text.chars().any(control) { text.chars().filter(|c| !control(*c)).collect() } else { text }
}

/// Rewrites a problem answer into the language the request asks for, with `Content-Language`
/// and `Vary: Accept-Language`.
pub async fn localize<B: MessageBody + 'static>(
    req: ServiceRequest,
    next: Next<B>,
) -> Result<ServiceResponse<EitherBody<B>>, actix_web::Error> {
    let res = next.call(req).await?;
    let is_problem = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with(PROBLEM_JSON));
    if !is_problem {
        return Ok(res.map_into_left_body());
    }
    // Read only for problems, from the request the answer carries: nothing on the way in.
    let lang = requested(res.request());
    let (req, res) = res.into_parts();
    let (mut head, body) = res.into_parts();
    let bytes = actix_web::body::to_bytes(body)
        .await
        .map_err(|e| actix_web::error::ErrorInternalServerError(e.into().to_string()))?;
    let body = match serde_json::from_slice::<serde_json::Value>(&bytes) {
        Ok(mut problem) => {
            translate(&mut problem, lang);
            head.headers_mut().insert(header::CONTENT_LANGUAGE, HeaderValue::from_static(lang.tag()));
            head.headers_mut().append(header::VARY, HeaderValue::from_static("accept-language"));
            serde_json::to_vec(&problem).map(web::Bytes::from).unwrap_or(bytes)
        }
        Err(_) => bytes,
    };
    let res = head.set_body(body).map_into_boxed_body();
    Ok(ServiceResponse::new(req, res).map_into_right_body())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_language_is_negotiated_by_q_value() {
        let pick = |v: &str| negotiate(Some(v), Lang::ZhCn);
        assert_eq!(pick("en"), Lang::En);
        assert_eq!(pick("en-GB,en;q=0.9"), Lang::En);
        assert_eq!(pick("zh-CN,zh;q=0.9,en;q=0.8"), Lang::ZhCn);
        assert_eq!(pick("en;q=0.5, zh-Hans;q=0.8"), Lang::ZhCn);
        assert_eq!(pick("fr, en;q=0.1"), Lang::En);
        assert_eq!(pick("fr"), Lang::ZhCn);
        assert_eq!(pick("zh-TW"), Lang::ZhCn, "not served: the default");
        assert_eq!(negotiate(Some("zh-TW, en;q=0.2"), Lang::ZhCn), Lang::En);
        assert_eq!(negotiate(Some("*"), Lang::En), Lang::En);
        assert_eq!(pick("en;q=0"), Lang::ZhCn, "q=0 is a refusal");
        assert_eq!(negotiate(None, Lang::En), Lang::En);
    }

    #[test]
    fn every_problem_code_and_status_has_both_languages() {
        let mut missing = Vec::new();
        for lang in Lang::ALL {
            for code in tongxing_core::Code::ALL {
                let id = code_id(code.as_str());
                if message(lang, &id, None).is_none() {
                    missing.push(format!("{}: {id}", lang.tag()));
                }
                let title = title_id(code.status());
                if message(lang, &title, None).is_none() {
                    missing.push(format!("{}: {title}", lang.tag()));
                }
            }
        }
        missing.dedup();
        assert!(missing.is_empty(), "missing from the catalogues:\n{}", missing.join("\n"));
    }

    /// A message names the values its problem carries in `params`, and only those it carries.
    #[test]
    fn messages_name_the_values_they_are_given() {
        let zh = |mut problem: serde_json::Value| {
            translate(&mut problem, Lang::ZhCn);
            problem
        };
        let p = zh(
            serde_json::json!({"status": 409, "code": "illegal_transition", "params": {"from": "active", "to": "screening"}}),
        );
        assert_eq!(p["detail"], "生命周期不允许从 active 变为 screening");
        let p = zh(serde_json::json!({"status": 409, "code": "illegal_transition"}));
        assert_eq!(p["detail"], "生命周期不允许此状态变更");
        let p = zh(serde_json::json!({"status": 409, "code": "clearance_missing", "params": {
            "name": "张三", "day": "2024-03-02", "background_check": "2023-10-01", "safety_training": "missing"}}));
        assert_eq!(
            p["detail"],
            "张三 不能在 2024-03-02 与儿童一起服务：背景审查已于 2023-10-01 过期；没有儿童安全培训记录"
        );
        let p = zh(serde_json::json!({"status": 409, "code": "clearance_missing", "params": {
            "name": "张三", "day": "2024-03-02", "safety_training": "2024-01-01"}}));
        assert_eq!(p["detail"], "张三 不能在 2024-03-02 与儿童一起服务：儿童安全培训已于 2024-01-01 过期");
        // A name cannot reorder the message around it.
        let p = zh(
            serde_json::json!({"status": 409, "code": "volunteer_inactive", "params": {"name": "张\u{202e}三\u{2066}"}}),
        );
        assert_eq!(p["detail"], "张三 未处于在职状态");
        let p =
            zh(serde_json::json!({"status": 409, "code": "event_closed", "params": {"status": "reported"}}));
        assert_eq!(p["detail"], "活动已上报，不再接受修改");
        let p = zh(
            serde_json::json!({"status": 409, "code": "sessions_outside", "params": {"first": "2024-01-02", "last": "2024-02-03"}}),
        );
        assert_eq!(p["detail"], "已记录的辅导从 2024-01-02 到 2024-02-03，登记日期须包含这些辅导");
        let p = zh(
            serde_json::json!({"status": 405, "code": "method_not_allowed", "params": {"method": "DELETE"}}),
        );
        assert_eq!(p["detail"], "该路径不支持 DELETE 方法；Allow 列出支持的方法");
        let p = zh(serde_json::json!({"status": 400, "code": "validation_failed", "errors": [
            {"field": "name", "code": "length", "message": "x", "params": {"max": 100}},
            {"field": "password", "code": "too_short", "message": "x", "params": {"min": 12}},
            {"field": "at", "code": "too_old", "message": "x", "params": {"years": 5, "earliest": "2021-12-03"}},
            {"field": "to", "code": "range_too_long", "message": "x", "params": {"periods": 120}},
        ]}));
        let messages: Vec<&str> =
            p["errors"].as_array().unwrap().iter().map(|e| e["message"].as_str().unwrap()).collect();
        assert_eq!(
            messages,
            [
                "name 的长度不得超过 100",
                "password 至少需要 12 个字符",
                "at 须在 5 年以内（不早于 2021-12-03）",
                "to：每条规则最多 120 个周期"
            ]
        );
    }

    /// Every heading and label a report table asks for, in both languages; every definition in
    /// Chinese (English ones are the reports' own); the note on withheld cells in both.
    #[test]
    fn every_report_heading_label_and_definition_has_both_languages() {
        use tongxing_reporting::csv::{headings, labels};
        let mut missing = Vec::new();
        for lang in Lang::ALL {
            let (headings, labels) = (headings(), labels());
            let ids = headings
                .iter()
                .map(|h| report_id("heading", h))
                .chain(labels.iter().map(|l| report_id("label", l)));
            missing.extend(
                ids.filter(|id| message(lang, id, None).is_none()).map(|id| format!("{}: {id}", lang.tag())),
            );
            let mut args = FluentArgs::new();
            args.set("cells", 3);
            args.set("threshold", 5);
            if format(lang, "note-withheld", &args).is_none() {
                missing.push(format!("{}: note-withheld", lang.tag()));
            }
        }
        for (key, _) in tongxing_reporting::summary::DEFINITIONS.each() {
            let id = report_id("definition", key);
            if message(Lang::ZhCn, &id, None).is_none() {
                missing.push(format!("zh-CN: {id}"));
            }
        }
        assert!(missing.is_empty(), "missing from the catalogues:\n{}", missing.join("\n"));
        // The words differ by language: a heading in Chinese is not the English one.
        let (zh, en) = (ReportWords(Lang::ZhCn), ReportWords(Lang::En));
        use tongxing_reporting::csv::Words;
        assert_ne!(zh.heading("figure"), en.heading("figure"));
        assert_ne!(zh.label("left_behind"), en.label("left_behind"));
    }

    /// Every field error code the sources give (`Error::field`, `FieldError::new`, a validation
    /// list's `push`, the national ID's checks, the validator's `length`, `range` and `email`,
    /// `not_writable`) has a message in both languages.
    #[test]
    fn every_field_error_code_in_the_sources_has_both_languages() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let patterns = [
            r#"(?:Error::field|FieldError::new|errs\.push)\(\s*[^,()]+?,\s*"([a-z_]+)""#,
            r#"invalid\(\s*"([a-z_]+)""#,
            r#"code: "([a-z_]+)"\.into\(\)"#,
            r#"#\[validate\((length|range|email)"#,
        ]
        .map(|p| regex::Regex::new(p).unwrap());
        let mut codes = std::collections::BTreeSet::new();
        let mut files = vec![root.clone()];
        while let Some(path) = files.pop() {
            if path.is_dir() {
                if path.ends_with("target") || path.ends_with("tests") {
                    continue;
                }
                files.extend(std::fs::read_dir(&path).unwrap().map(|e| e.unwrap().path()));
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).unwrap();
                for pattern in &patterns {
                    codes.extend(pattern.captures_iter(&text).map(|c| c[1].to_owned()));
                }
            }
        }
        assert!(codes.len() > 50, "only {} field codes found: {codes:?}", codes.len());
        let missing: Vec<String> = Lang::ALL
            .iter()
            .flat_map(|lang| codes.iter().map(move |c| (lang, c)))
            .filter(|(lang, c)| message(**lang, &field_id(c), Some("x")).is_none())
            .map(|(lang, c)| format!("{}: {}", lang.tag(), field_id(c)))
            .collect();
        assert!(missing.is_empty(), "missing from the catalogues:\n{}", missing.join("\n"));
    }
}
