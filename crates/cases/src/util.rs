pub(crate) use tongxing_core::record::{
    Versioned, check_version, clean, contains_pattern, parse_id, parse_opt_id,
};
pub(crate) use tongxing_store::not_found_as;
