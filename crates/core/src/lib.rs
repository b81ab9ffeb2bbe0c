//! Domain primitives shared by every Tongxing crate. No HTTP, no database.

pub mod access;
pub mod code;
pub mod error;
pub mod id;
pub mod national_id;
pub mod page;
pub mod record;
pub mod role;
mod text_enum;
pub mod time;

pub use code::Code;
pub use error::{Error, FieldError, Result};
pub use text_enum::TextEnum;
