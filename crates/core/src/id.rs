//! Record ids: UUID v7 (time-ordered, so lists ordered by id are ordered by creation).

use uuid::Uuid;

pub fn new_id() -> Uuid {
    Uuid::now_v7()
}
