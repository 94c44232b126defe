//! Single sign-on and OpenID Connect: the authorization endpoint's rules, the SSO session,
//! request objects, discovery, and every way a sign-out reaches the applications
//! (RP-initiated, back-channel, front-channel).

pub mod authorize;
pub mod backchannel;
pub mod discovery;
pub mod logout;
pub mod request_object;
pub mod session;
