//! The seed tutorial's demo users, loaded at start-up when `APP_DEMO_DATA` is true.

use http_plumbing::db::Db;

use crate::domain::{Email, NewUser, UserId, UserName};
use crate::store::StoreError;
use crate::store::users::{insert_user_with_id, sync_user_id_sequence};

/// The seed's users: id, name, email.
pub const DEMO_USERS: [(i64, &str, &str); 2] = [
    (1, "Alice Johnson", "alice@example.com"),
    (2, "Bob Smith", "bob@example.com"),
];

/// Inserts each demo user that is missing; existing rows are left as they are.
pub async fn insert_demo_users(db: &Db) -> Result<(), StoreError> {
    for (id, name, email) in DEMO_USERS {
        let user = NewUser {
            name: UserName::parse(name).expect("demo names are valid"),
            email: Email::parse(email).expect("demo emails are valid"),
        };
        insert_user_with_id(db, UserId::parse(id).expect("demo ids are valid"), &user).await?;
    }
    sync_user_id_sequence(db).await
}
