//! Enums stored as text and exchanged as snake_case strings.

/// Declares an enum with its wire and storage names, its OpenAPI schema, and `as_str` /
/// `from_db`. The calling crate needs `serde` and `utoipa`.
#[macro_export]
macro_rules! text_enum {
    ($(#[$meta:meta])* $vis:vis enum $name:ident { $($(#[$vmeta:meta])* $variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
        #[serde(rename_all = "snake_case")]
        $vis enum $name {
            $($(#[$vmeta])* #[serde(rename = $text)] #[schema(rename = $text)] $variant),+
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            /// Reads a stored value; an unknown one is a storage fault, not bad input.
            pub fn from_db(s: &str) -> tongxing_core::Result<Self> {
                match s {
                    $($text => Ok($name::$variant),)+
                    other => Err(tongxing_core::Error::internal(format!(
                        "unknown {} `{other}` in the database", stringify!($name)))),
                }
            }
        }

        impl tongxing_core::TextEnum for $name {
            fn as_str(self) -> &'static str {
                $name::as_str(self)
            }

            fn from_db(s: &str) -> tongxing_core::Result<Self> {
                $name::from_db(s)
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

/// An enum stored as text: what the store needs to bind and read it (`tongxing_store::DbText`).
pub trait TextEnum: Sized + Copy + Send + Sync + std::fmt::Debug + 'static {
    fn as_str(self) -> &'static str;
    /// Reads a stored value; an unknown one is a storage fault.
    fn from_db(s: &str) -> crate::Result<Self>;
}
