//! `/users`: create, fetch and list users.

use actix_web::http::header;
use actix_web::{HttpResponse, get, post, web};
use chrono::{DateTime, Utc};
use http_plumbing::ErrorBody;
use http_plumbing::db::Db;
use http_plumbing::pagination::PageParams;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::domain::{Email, NewUser, UserId, UserName};
use crate::errors::ApiError;
use crate::store::users::{self as store, Inserted, UserReads, UserRow};

/// A user as the API shows it.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"id": 1, "name": "Alice Johnson", "email": "alice@example.com",
    "created_at": "2026-11-26T12:00:00Z"}))]
pub struct User {
    /// The user's id.
    pub id: i64,
    /// Display name.
    pub name: String,
    /// Email address, lower-cased.
    pub email: String,
    /// When the user was created (RFC 3339, UTC).
    pub created_at: DateTime<Utc>,
}

impl From<UserRow> for User {
    fn from(row: UserRow) -> Self {
        Self {
            id: row.id,
            name: row.name,
            email: row.email,
            created_at: row.created_at,
        }
    }
}

/// A user to create.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({"name": "Carol White", "email": "carol@example.com"}))]
pub struct CreateUser {
    /// Display name: 1 to 100 characters after trimming.
    #[schema(min_length = 1, max_length = 100)]
    pub name: String,
    /// Email address; stored lower-cased and unique regardless of case.
    #[schema(max_length = 254, format = "email")]
    pub email: String,
}

/// One page of users.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct UserPage {
    /// The users on this page, by ascending id.
    pub items: Vec<User>,
    /// The page size used.
    pub limit: i64,
    /// How many users were skipped.
    pub offset: i64,
    /// How many users exist in all.
    pub total: i64,
}

/// Create a user.
///
/// The name is trimmed; the email is lower-cased and must be unique.
#[utoipa::path(
    tag = "users",
    request_body = CreateUser,
    responses(
        (status = 201, description = "Created; `Location` names the new user", body = User),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 409, description = "The email is taken", body = ErrorBody,
            example = json!({"code": "email_taken", "message": "a user with email alice@example.com already exists"})),
        (status = 413, description = "Body over 16 KiB", body = ErrorBody),
        (status = 415, description = "Body is not JSON", body = ErrorBody),
        (status = 422, description = "Missing field, wrong type, or invalid name or email", body = ErrorBody,
            example = json!({"code": "invalid_input", "message": "email \"alice\" is not a valid address"})),
        (status = 503, description = "Database unavailable", body = ErrorBody),
    )
)]
#[post("/users")]
pub async fn create_user(
    db: web::Data<Db>,
    body: web::Json<CreateUser>,
) -> Result<HttpResponse, ApiError> {
    let new_user = NewUser {
        name: UserName::parse(&body.name).map_err(ApiError::Invalid)?,
        email: Email::parse(&body.email).map_err(ApiError::Invalid)?,
    };
    match store::insert_user(&db, &new_user).await? {
        Inserted::Created(row) => Ok(HttpResponse::Created()
            .insert_header((header::LOCATION, format!("/users/{}", row.id)))
            .json(User::from(row))),
        Inserted::EmailTaken => Err(ApiError::EmailTaken(new_user.email.as_str().to_owned())),
    }
}

/// Get a user by id.
#[utoipa::path(
    tag = "users",
    params(("id" = i64, Path, description = "The user's id", minimum = 1, example = 1)),
    responses(
        (status = 200, description = "The user", body = User),
        (status = 400, description = "The id is not a positive 64-bit integer", body = ErrorBody),
        (status = 404, description = "No such user", body = ErrorBody,
            example = json!({"code": "user_not_found", "message": "user 42 does not exist"})),
        (status = 503, description = "Database unavailable", body = ErrorBody),
    )
)]
#[get("/users/{id}")]
pub async fn get_user(
    db: web::Data<Db>,
    reads: web::Data<UserReads>,
    id: web::Path<i64>,
) -> Result<web::Json<User>, ApiError> {
    let id = UserId::parse(id.into_inner()).map_err(ApiError::BadRequest)?;
    let row = reads
        .submit(&db, id)
        .await?
        .ok_or(ApiError::UserNotFound(id.get()))?;
    Ok(web::Json(row.into()))
}

/// List users, oldest first.
#[utoipa::path(
    tag = "users",
    params(PageParams),
    responses(
        (status = 200, description = "A page of users", body = UserPage),
        (status = 400, description = "limit or offset out of range", body = ErrorBody),
        (status = 503, description = "Database unavailable", body = ErrorBody),
    )
)]
#[get("/users")]
pub async fn list_users(
    db: web::Data<Db>,
    params: web::Query<PageParams>,
) -> Result<web::Json<UserPage>, ApiError> {
    let page = params.into_inner().parse().map_err(ApiError::BadRequest)?;
    let (rows, total) = store::list_users(&db, page).await?;
    Ok(web::Json(UserPage {
        items: rows.into_iter().map(User::from).collect(),
        limit: page.limit,
        offset: page.offset,
        total,
    }))
}
