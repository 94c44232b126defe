//! Use cases. Handlers call exactly one function here; these functions hold the rules,
//! and talk to the store and the keyring.

pub mod account;
pub mod audience;
pub mod audit;
pub mod authorize;
pub mod backchannel;
pub mod client;
pub mod discovery;
pub mod key_schedule;
pub mod links;
pub mod login;
pub mod logout;
pub mod mail;
pub mod oauth;
pub mod outbound;
pub mod password;
pub mod request_object;
pub mod session;
pub mod throttle;
pub mod token;
pub mod user;
