//! The `users` table.

use chrono::{DateTime, Utc};
use http_plumbing::batch::{BatchResults, Batcher, fetch_by_ids};
use http_plumbing::db::Db;
use http_plumbing::db::is_unique_violation;
use http_plumbing::pagination::Page;

use crate::domain::{NewUser, UserId};
use crate::store::StoreError;

/// A stored user.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct UserRow {
    /// Primary key.
    pub id: i64,
    /// Display name.
    pub name: String,
    /// Lower-cased, unique email.
    pub email: String,
    /// When the row was inserted.
    pub created_at: DateTime<Utc>,
}

/// Outcome of [`insert_user`].
#[derive(Debug)]
pub enum Inserted {
    /// The new user.
    Created(UserRow),
    /// Another user already has the email.
    EmailTaken,
}

/// Inserts a user; a duplicate email is reported, not raised.
pub async fn insert_user(db: &Db, user: &NewUser) -> Result<Inserted, StoreError> {
    let result = db
        .run(async |conn| {
            sqlx::query_as::<_, UserRow>(
        "INSERT INTO users (name, email) VALUES ($1, $2) RETURNING id, name, email, created_at",
    )
    .bind(user.name.as_str())
    .bind(user.email.as_str())
    .fetch_one(conn).await
        })
        .await;
    match result {
        Ok(row) => Ok(Inserted::Created(row)),
        Err(e) if is_unique_violation(&e, "users_email_key") => Ok(Inserted::EmailTaken),
        Err(e) => Err(e.into()),
    }
}

/// Fetches one user by id.
pub async fn fetch_user(db: &Db, id: UserId) -> Result<Option<UserRow>, StoreError> {
    let mut found = fetch_users(db.clone(), vec![id]).await;
    found.pop().unwrap_or_else(|| Err(StoreError::unanswered()))
}

/// Fetches users by id with one statement: the batch function of [`UserReads`].
pub async fn fetch_users(db: Db, ids: Vec<UserId>) -> BatchResults<Option<UserRow>> {
    let ids: Vec<i64> = ids.iter().map(|id| id.get()).collect();
    let sql = "SELECT id, name, email, created_at FROM users WHERE id = ANY($1)";
    fetch_by_ids(&db, sql, &ids, |row: &UserRow| row.id).await
}

/// `GET /users/{id}` lookups of one worker, batched ([`http_plumbing::batch`]).
pub type UserReads = Batcher<Db, UserId, Option<UserRow>>;

/// Lists users by ascending id, with the total count.
pub async fn list_users(db: &Db, page: Page) -> Result<(Vec<UserRow>, i64), StoreError> {
    Ok(db
        .run(async |conn| {
            let rows = sqlx::query_as::<_, UserRow>(
                "SELECT id, name, email, created_at FROM users ORDER BY id LIMIT $1 OFFSET $2",
            )
            .bind(page.limit)
            .bind(page.offset)
            .fetch_all(&mut *conn)
            .await?;
            let total: i64 = sqlx::query_scalar("SELECT count(*) FROM users")
                .fetch_one(conn)
                .await?;
            Ok((rows, total))
        })
        .await?)
}

/// Inserts a user under a given id unless that id is taken; true if it was inserted.
///
/// Call [`sync_user_id_sequence`] afterwards so that generated ids skip past it.
pub async fn insert_user_with_id(db: &Db, id: UserId, user: &NewUser) -> Result<bool, StoreError> {
    let inserted = db
        .run(async |conn| {
            sqlx::query(
                "INSERT INTO users (id, name, email) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
            )
            .bind(id.get())
            .bind(user.name.as_str())
            .bind(user.email.as_str())
            .execute(conn)
            .await
        })
        .await?;
    Ok(inserted.rows_affected() == 1)
}

/// Moves the id sequence past the highest id in use.
pub async fn sync_user_id_sequence(db: &Db) -> Result<(), StoreError> {
    db.run(async |conn| {
        sqlx::query(
            "SELECT setval(pg_get_serial_sequence('users', 'id'), \
             GREATEST((SELECT max(id) FROM users), 1))",
        )
        .execute(conn)
        .await
    })
    .await?;
    Ok(())
}
