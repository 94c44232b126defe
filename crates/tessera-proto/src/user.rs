//! The user object of `GET /auth/users/{id}/`.

use serde::{Deserialize, Serialize};

/// A user as the API shows it. Which fields are sent is configurable ([`UserField`]);
/// drf_remotejwt creates its local user from every key it receives, so the default set
/// matches its user model exactly.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct UserJson {
    /// Integer id.
    pub id: i64,
    /// Username.
    pub username: String,
    /// E-mail address.
    pub email: String,
    /// Given name.
    pub first_name: String,
    /// Family name.
    pub last_name: String,
    /// ISO 8601 time the account was created.
    pub date_joined: String,
    /// ISO 8601 time of the last login, or `null`.
    pub last_login: Option<String>,
    /// Whether the account may log in.
    pub is_active: bool,
    /// Staff flag.
    pub is_staff: bool,
    /// Superuser flag.
    pub is_superuser: bool,
}

/// A selectable field of [`UserJson`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum UserField {
    /// `id`
    Id,
    /// `username`
    Username,
    /// `email`
    Email,
    /// `first_name`
    FirstName,
    /// `last_name`
    LastName,
    /// `date_joined`
    DateJoined,
    /// `last_login`
    LastLogin,
    /// `is_active`
    IsActive,
    /// `is_staff`
    IsStaff,
    /// `is_superuser`
    IsSuperuser,
}

impl UserField {
    /// drf_remotejwt's user model: every field but `username`.
    pub const DRF_REMOTEJWT: [UserField; 9] = [
        Self::Id,
        Self::Email,
        Self::FirstName,
        Self::LastName,
        Self::DateJoined,
        Self::LastLogin,
        Self::IsActive,
        Self::IsStaff,
        Self::IsSuperuser,
    ];

    /// The JSON key.
    pub fn key(self) -> &'static str {
        match self {
            Self::Id => "id",
            Self::Username => "username",
            Self::Email => "email",
            Self::FirstName => "first_name",
            Self::LastName => "last_name",
            Self::DateJoined => "date_joined",
            Self::LastLogin => "last_login",
            Self::IsActive => "is_active",
            Self::IsStaff => "is_staff",
            Self::IsSuperuser => "is_superuser",
        }
    }
}

impl UserJson {
    /// The user with only `fields`, in that order.
    pub fn select(&self, fields: &[UserField]) -> serde_json::Map<String, serde_json::Value> {
        use serde_json::Value;
        fields
            .iter()
            .map(|f| {
                let v = match f {
                    UserField::Id => Value::from(self.id),
                    UserField::Username => Value::from(self.username.clone()),
                    UserField::Email => Value::from(self.email.clone()),
                    UserField::FirstName => Value::from(self.first_name.clone()),
                    UserField::LastName => Value::from(self.last_name.clone()),
                    UserField::DateJoined => Value::from(self.date_joined.clone()),
                    UserField::LastLogin => {
                        self.last_login.clone().map_or(Value::Null, Value::from)
                    }
                    UserField::IsActive => Value::from(self.is_active),
                    UserField::IsStaff => Value::from(self.is_staff),
                    UserField::IsSuperuser => Value::from(self.is_superuser),
                };
                (f.key().to_owned(), v)
            })
            .collect()
    }
}
