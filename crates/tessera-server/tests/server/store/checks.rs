//! The checks of the conformance suite, each given a fresh store.

use crate::store::Fixture;
use tessera_server::store::{
    Client, DynStore, KeyState, LinkPurpose, NewUser, Redemption, RefreshRecord, RefreshState,
    RotateOutcome, RowState, StoreError, StoredKey,
};
use time::OffsetDateTime;

/// The time the checks run at, Unix seconds.
pub const NOW: i64 = 1_900_000_000;

fn new_user(name: &str) -> NewUser {
    NewUser {
        id: None,
        username: name.into(),
        email: format!("{name}@Example.com"),
        password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA".into(),
        first_name: "F".into(),
        last_name: "L".into(),
        is_active: true,
        is_staff: false,
        is_superuser: false,
        date_joined: OffsetDateTime::from_unix_timestamp(NOW).unwrap(),
        last_login: None,
        roles: Vec::new(),
        groups: Vec::new(),
        services: None,
        email_verified: true,
        imported_id: false,
    }
}

fn token(jti: &str, family: &str, user_id: i64, expires_at: i64) -> RefreshRecord {
    RefreshRecord {
        jti: jti.into(),
        family: family.into(),
        user_id,
        client_id: None,
        issued_at: NOW,
        expires_at,
        access_jti: format!("a-{jti}"),
        access_expires_at: NOW + 300,
        scope: None,
    }
}

fn client(id: &str, secret_hash: Option<&str>) -> Client {
    Client {
        client_id: id.into(),
        name: format!("The {id} app"),
        secret_hash: secret_hash.map(str::to_owned),
        redirect_uris: vec!["https://app.example.com/cb".into()],
        grants: vec![
            tessera_server::domain::GrantType::AuthorizationCode,
            tessera_server::domain::GrantType::RefreshToken,
        ],
        scopes: vec!["openid".into(), "read:orders".into()],
        first_party: true,
        access_lifetime: Some(60),
        refresh_lifetime: None,
        created_at: NOW,
        id_token_alg: Some("ES256".into()),
        audiences: vec!["tessera".into()],
        post_logout_redirect_uris: vec!["https://app.example.com/bye".into()],
        backchannel_logout_uri: Some(format!("https://{id}.example.com/bc")),
        backchannel_logout_session_required: true,
        frontchannel_logout_uri: Some(format!("https://{id}.example.com/fc")),
        frontchannel_logout_session_required: false,
        require_pushed_authorization_requests: true,
        jwks: None,
        jwks_uri: Some(format!("https://{id}.example.com/jwks.json")),
        request_object_signing_alg: Some("PS256".into()),
        require_signed_request_object: true,
        require_mfa: false,
    }
}

fn key(kid: &str, alg: &str, state: KeyState) -> StoredKey {
    StoredKey {
        kid: kid.into(),
        alg: tessera_server::store::KeyAlg::parse(alg),
        state,
        created_at: NOW,
        activated_at: (state == KeyState::Active).then_some(NOW),
        retire_after: None,
        sealed_private: vec![1, 2, 3, kid.len() as u8],
    }
}

pub async fn users_are_unique_by_username_and_case_insensitive_email(f: Fixture) {
    let s = f.store;
    let alice = s.create_user(&new_user("alice")).await.unwrap();
    assert!(alice.id > 0);
    assert_eq!(alice.email, "alice@Example.com");
    let mut dup = new_user("alice");
    dup.email = "other@example.com".into();
    assert!(matches!(
        s.create_user(&dup).await,
        Err(StoreError::Conflict("username"))
    ));
    let mut dup = new_user("bob");
    dup.email = "ALICE@example.COM".into();
    assert!(matches!(
        s.create_user(&dup).await,
        Err(StoreError::Conflict("email"))
    ));
    let found = s.user_by_email("alice@EXAMPLE.com").await.unwrap().unwrap();
    assert_eq!(found, alice);
    assert_eq!(s.user_by_username("alice").await.unwrap().unwrap(), alice);
    // Usernames are one without regard to case or width (users.username_key).
    assert_eq!(s.user_by_username("ALICE").await.unwrap().unwrap(), alice);
    assert_eq!(
        s.user_by_username("ａｌｉｃｅ").await.unwrap().unwrap(),
        alice
    );
    let mut dup = new_user("Alice");
    dup.email = "alice2@example.com".into();
    assert!(matches!(
        s.create_user(&dup).await,
        Err(StoreError::Conflict("username"))
    ));
    let bob = s.create_user(&new_user("bob")).await.unwrap();
    let all = s.list_users().await.unwrap();
    assert_eq!(all, vec![alice, bob]);
}

pub async fn a_missing_user_reads_as_none_and_updates_report_it(f: Fixture) {
    let s = f.store;
    assert!(s.user_by_id(404).await.unwrap().is_none());
    assert!(!s.set_active(404, false, NOW).await.unwrap());
    assert!(!s.set_password_hash(404, "x", true, NOW).await.unwrap());
    let u = s.create_user(&new_user("carol")).await.unwrap();
    let at = OffsetDateTime::from_unix_timestamp(NOW + 5).unwrap();
    s.record_login(u.id, at).await.unwrap();
    assert_eq!(
        s.user_by_id(u.id).await.unwrap().unwrap().last_login,
        Some(at)
    );
}

pub async fn rotation_is_exactly_once_under_concurrency(f: Fixture) {
    let s = f.store;
    let u = s.create_user(&new_user("dave")).await.unwrap();
    s.insert_refresh(&token("r0", "fam", u.id, NOW + 100))
        .await
        .unwrap();
    let tasks: Vec<_> = (0..16)
        .map(|i| {
            let s = s.clone();
            let next = token(&format!("r1-{i}"), "fam", u.id, NOW + 100);
            tokio::spawn(async move { s.rotate_refresh("r0", &next, NOW).await.unwrap() })
        })
        .collect();
    let mut outcomes = Vec::new();
    for t in tasks {
        outcomes.push(t.await.unwrap());
    }
    let rotated = outcomes
        .iter()
        .filter(|o| **o == RotateOutcome::Rotated)
        .count();
    assert_eq!(rotated, 1, "{outcomes:?}");
    assert!(
        outcomes.iter().all(|o| matches!(
            o,
            RotateOutcome::Rotated | RotateOutcome::Reused | RotateOutcome::Revoked
        )),
        "{outcomes:?}"
    );
    // The losers were reuses: the family is over, nothing in it is live.
    assert_live_tokens(&s, "fam", 0).await;
}

/// Many families rotating at once (on SQLite they share group commits), one of them
/// failing in the middle (its next jti is taken): every other rotation is applied and
/// durable, the failing one gets its own error and leaves its token as it was.
pub async fn concurrent_rotations_commit_independently(f: Fixture) {
    let s = f.store;
    let u = s.create_user(&new_user("gina")).await.unwrap();
    s.insert_refresh(&token("taken", "gt", u.id, NOW + 100))
        .await
        .unwrap();
    for i in 0..64 {
        s.insert_refresh(&token(
            &format!("g{i}-0"),
            &format!("gf{i}"),
            u.id,
            NOW + 100,
        ))
        .await
        .unwrap();
    }
    // Two waves: all distinct and valid (on SQLite, groups of two statements), then one
    // with a rotation that cannot be stored (its group is rolled back and run one by one).
    let rotate = |range: std::ops::Range<usize>| {
        range
            .map(|i| {
                let s = s.clone();
                let jti = if i == 40 {
                    "taken".into()
                } else {
                    format!("g{i}-1")
                };
                let next = token(&jti, &format!("gf{i}"), u.id, NOW + 100);
                tokio::spawn(async move { s.rotate_refresh(&format!("g{i}-0"), &next, NOW).await })
            })
            .collect::<Vec<_>>()
    };
    let tasks = rotate(0..32).into_iter().chain(rotate(32..64));
    for (i, task) in tasks.enumerate() {
        let outcome = task.await.unwrap();
        if i == 40 {
            assert!(
                matches!(outcome, Err(StoreError::Conflict(_))),
                "{outcome:?}"
            );
        } else {
            assert_eq!(outcome.unwrap(), RotateOutcome::Rotated, "rotation {i}");
        }
    }
    // Read through another pool: what was answered is committed.
    let other = tessera_server::store::connect(&f.url, &Default::default())
        .await
        .unwrap();
    for i in 0..64 {
        let (old, new) = (format!("g{i}-0"), format!("g{i}-1"));
        if i == 40 {
            assert_eq!(
                other.refresh_state(&old, NOW).await.unwrap(),
                Some(RefreshState::Active)
            );
            assert_eq!(other.refresh_state(&new, NOW).await.unwrap(), None);
        } else {
            assert_eq!(
                other.refresh_state(&old, NOW).await.unwrap(),
                Some(RefreshState::Rotated)
            );
            assert_eq!(
                other.refresh_state(&new, NOW).await.unwrap(),
                Some(RefreshState::Active)
            );
        }
    }
}

async fn assert_live_tokens(s: &DynStore, family: &str, expected: usize) {
    let snapshot = s.snapshot(NOW).await.unwrap();
    let live = snapshot
        .refresh_tokens
        .iter()
        .filter(|r| r.record.family == family && r.state == RowState::Active)
        .count();
    assert_eq!(live, expected, "live tokens of {family}");
}

pub async fn a_reused_token_revokes_its_family_and_access_tokens(f: Fixture) {
    let s = f.store;
    let u = s.create_user(&new_user("erin")).await.unwrap();
    s.insert_refresh(&token("t0", "f1", u.id, NOW + 100))
        .await
        .unwrap();
    s.insert_refresh(&token("other", "f2", u.id, NOW + 100))
        .await
        .unwrap();
    let t1 = token("t1", "f1", u.id, NOW + 100);
    assert_eq!(
        s.rotate_refresh("t0", &t1, NOW).await.unwrap(),
        RotateOutcome::Rotated
    );
    assert_eq!(
        s.refresh_state("t0", NOW).await.unwrap(),
        Some(RefreshState::Rotated)
    );
    assert_eq!(
        s.refresh_state("t1", NOW).await.unwrap(),
        Some(RefreshState::Active)
    );
    assert_live_tokens(&s, "f1", 1).await;

    let t2 = token("t2", "f1", u.id, NOW + 100);
    assert_eq!(
        s.rotate_refresh("t0", &t2, NOW).await.unwrap(),
        RotateOutcome::Reused
    );
    assert_eq!(
        s.refresh_state("t1", NOW).await.unwrap(),
        Some(RefreshState::Revoked)
    );
    assert!(s.is_access_revoked("a-t0").await.unwrap());
    assert!(s.is_access_revoked("a-t1").await.unwrap());
    assert_eq!(
        s.rotate_refresh("t1", &t2, NOW).await.unwrap(),
        RotateOutcome::Revoked
    );
    assert_live_tokens(&s, "f1", 0).await;
    // Other families are untouched.
    assert_eq!(
        s.refresh_state("other", NOW).await.unwrap(),
        Some(RefreshState::Active)
    );
    assert!(!s.is_access_revoked("a-other").await.unwrap());

    // Logout of an unknown token says so; of a known one revokes its family.
    assert!(!s.revoke_family_of("nope", NOW).await.unwrap());
    assert!(s.revoke_family_of("other", NOW).await.unwrap());
    assert_eq!(
        s.refresh_state("other", NOW).await.unwrap(),
        Some(RefreshState::Revoked)
    );
    assert!(s.is_access_revoked("a-other").await.unwrap());
}

pub async fn expired_and_unknown_tokens_are_reported_as_such(f: Fixture) {
    let s = f.store;
    let u = s.create_user(&new_user("frank")).await.unwrap();
    s.insert_refresh(&token("old", "fx", u.id, NOW - 1))
        .await
        .unwrap();
    let next = token("new", "fx", u.id, NOW + 100);
    assert_eq!(
        s.rotate_refresh("old", &next, NOW).await.unwrap(),
        RotateOutcome::Expired
    );
    assert_eq!(
        s.refresh_state("old", NOW).await.unwrap(),
        Some(RefreshState::Expired)
    );
    assert_eq!(
        s.rotate_refresh("ghost", &next, NOW).await.unwrap(),
        RotateOutcome::NotFound
    );
    assert_eq!(s.refresh_state("ghost", NOW).await.unwrap(), None);
    // A successor claiming another family does not consume the token.
    s.insert_refresh(&token("live", "fy", u.id, NOW + 100))
        .await
        .unwrap();
    let forged = token("n2", "fz", u.id, NOW + 100);
    assert_eq!(
        s.rotate_refresh("live", &forged, NOW).await.unwrap(),
        RotateOutcome::NotFound
    );
    assert_eq!(
        s.refresh_state("live", NOW).await.unwrap(),
        Some(RefreshState::Active)
    );
}

pub async fn disabling_a_user_ends_every_family(f: Fixture) {
    let s = f.store;
    let u = s.create_user(&new_user("gina")).await.unwrap();
    let v = s.create_user(&new_user("hank")).await.unwrap();
    for (jti, fam, id) in [("g1", "ga", u.id), ("g2", "gb", u.id), ("h1", "ha", v.id)] {
        s.insert_refresh(&token(jti, fam, id, NOW + 100))
            .await
            .unwrap();
    }
    assert!(s.set_active(u.id, false, NOW).await.unwrap());
    assert!(!s.user_by_id(u.id).await.unwrap().unwrap().is_active);
    for jti in ["g1", "g2"] {
        assert_eq!(
            s.refresh_state(jti, NOW).await.unwrap(),
            Some(RefreshState::Revoked)
        );
        assert!(s.is_access_revoked(&format!("a-{jti}")).await.unwrap());
    }
    assert_eq!(
        s.refresh_state("h1", NOW).await.unwrap(),
        Some(RefreshState::Active)
    );
    assert!(s.set_active(u.id, true, NOW).await.unwrap());
    assert!(s.user_by_id(u.id).await.unwrap().unwrap().is_active);
}

pub async fn a_password_change_can_end_sessions(f: Fixture) {
    let s = f.store;
    let u = s.create_user(&new_user("ivy")).await.unwrap();
    s.insert_refresh(&token("i1", "ia", u.id, NOW + 100))
        .await
        .unwrap();
    assert!(
        s.set_password_hash(u.id, "rehash", false, NOW)
            .await
            .unwrap()
    );
    assert_eq!(
        s.refresh_state("i1", NOW).await.unwrap(),
        Some(RefreshState::Active)
    );
    assert!(
        s.set_password_hash(u.id, "changed", true, NOW)
            .await
            .unwrap()
    );
    assert_eq!(
        s.refresh_state("i1", NOW).await.unwrap(),
        Some(RefreshState::Revoked)
    );
    assert_eq!(
        s.user_by_id(u.id).await.unwrap().unwrap().password_hash,
        "changed"
    );
}

pub async fn one_active_key_per_algorithm(f: Fixture) {
    let s = f.store;
    s.insert_signing_key(&key("k1", "RS256", KeyState::Active))
        .await
        .unwrap();
    s.insert_signing_key(&key("m1", "HS256", KeyState::Active))
        .await
        .unwrap();
    s.insert_signing_key(&key("e1", "ES256", KeyState::Active))
        .await
        .unwrap();
    assert!(matches!(
        s.insert_signing_key(&key("k2", "RS256", KeyState::Active))
            .await,
        Err(StoreError::Conflict("key"))
    ));
    assert!(matches!(
        s.insert_signing_key(&key("k1", "RS256", KeyState::Next))
            .await,
        Err(StoreError::Conflict("key"))
    ));
    s.insert_signing_key(&key("k3", "RS256", KeyState::Next))
        .await
        .unwrap();
    let kids: Vec<_> = s
        .signing_keys()
        .await
        .unwrap()
        .into_iter()
        .map(|k| (k.kid, k.state))
        .collect();
    assert_eq!(kids.len(), 4, "{kids:?}");
    assert!(kids.contains(&("k3".into(), KeyState::Next)));
}

pub async fn activation_retires_the_previous_key_once(f: Fixture) {
    let s = f.store;
    s.insert_signing_key(&key("k1", "RS256", KeyState::Active))
        .await
        .unwrap();
    s.insert_signing_key(&key("e1", "ES256", KeyState::Active))
        .await
        .unwrap();
    s.insert_signing_key(&key("k2", "RS256", KeyState::Next))
        .await
        .unwrap();
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let s = s.clone();
            tokio::spawn(async move { s.activate_key("k2", NOW + 330, NOW + 10).await.unwrap() })
        })
        .collect();
    let mut wins = 0;
    for t in tasks {
        wins += usize::from(t.await.unwrap());
    }
    assert_eq!(wins, 1);
    let keys = s.signing_keys().await.unwrap();
    let get = |kid: &str| keys.iter().find(|k| k.kid == kid).unwrap().clone();
    assert_eq!(get("k1").state, KeyState::Retired);
    assert_eq!(get("k1").retire_after, Some(NOW + 330));
    assert_eq!(get("k2").state, KeyState::Active);
    assert_eq!(get("k2").activated_at, Some(NOW + 10));
    assert_eq!(
        get("e1").state,
        KeyState::Active,
        "other algorithms untouched"
    );
    assert!(!s.activate_key("unknown", NOW, NOW).await.unwrap());
    assert!(
        !s.activate_key("k1", NOW, NOW).await.unwrap(),
        "retired keys stay retired"
    );
}

pub async fn resealing_is_all_or_nothing(f: Fixture) {
    let s = f.store;
    for kid in ["k1", "k2"] {
        s.insert_signing_key(&key(
            kid,
            "RS256",
            if kid == "k1" {
                KeyState::Active
            } else {
                KeyState::Next
            },
        ))
        .await
        .unwrap();
    }
    let old = |kid: &str| vec![1, 2, 3, kid.len() as u8];
    // k2's old value is stale: nothing changes.
    let stale = vec![
        ("k1".to_owned(), old("k1"), vec![9, 9]),
        ("k2".to_owned(), vec![0], vec![8, 8]),
    ];
    assert!(!s.reseal_keys(&stale, &[]).await.unwrap());
    let keys = s.signing_keys().await.unwrap();
    assert!(
        keys.iter().all(|k| k.sealed_private == old(&k.kid)),
        "rolled back"
    );
    let fresh = vec![
        ("k1".to_owned(), old("k1"), vec![9, 9]),
        ("k2".to_owned(), old("k2"), vec![8, 8]),
    ];
    assert!(s.reseal_keys(&fresh, &[]).await.unwrap());
    let keys = s.signing_keys().await.unwrap();
    let sealed = |kid: &str| {
        keys.iter()
            .find(|k| k.kid == kid)
            .unwrap()
            .sealed_private
            .clone()
    };
    assert_eq!(sealed("k1"), vec![9, 9]);
    assert_eq!(sealed("k2"), vec![8, 8]);
    // The write lock was released: another write goes through.
    assert!(s.delete_signing_key("k2").await.unwrap());
}

pub async fn pruning_removes_only_what_has_expired(f: Fixture) {
    let s = f.store;
    seed_installation(&s).await;
    s.revoke_access("j-old", NOW - 1).await.unwrap();
    s.revoke_access("j-live", NOW + 300).await.unwrap();
    s.record_login_failure(&["stale".into()], NOW - 7200, NOW - 10_000)
        .await
        .unwrap();
    s.record_login_failure(&["fresh".into()], NOW, NOW - 3600)
        .await
        .unwrap();
    // The throttle's known-address marks (`ok:` keys) outlive the counters' window.
    let day = 86_400;
    s.record_login_failure(&["ok:#1|10.0.0.1".into()], NOW - 2 * day, NOW - 30 * day)
        .await
        .unwrap();
    s.record_login_failure(&["ok:#1|10.0.0.2".into()], NOW - 31 * day, NOW - 61 * day)
        .await
        .unwrap();
    let count = |rows: &[(&str, i64)], table: &str| {
        rows.iter()
            .find(|(t, _)| *t == table)
            .map(|(_, n)| *n)
            .unwrap()
    };
    let before = s.table_counts().await.unwrap();
    assert_eq!(count(&before, "refresh_tokens"), 5);

    // Refresh tokens whose access tokens may still be live stay.
    let removed = s.prune_expired(NOW + 150, NOW - 3600).await.unwrap();
    let removed_from = |table: &str| removed.iter().find(|(t, _)| *t == table).unwrap().1;
    assert_eq!(removed_from("refresh_tokens"), 0);
    assert_eq!(removed_from("revoked_access"), 1);
    assert_eq!(removed_from("login_failures"), 1);
    assert_eq!(removed_from("login_failures (known addresses)"), 1);
    assert_eq!(
        s.login_failures(&["ok:#1|10.0.0.1".into(), "ok:#1|10.0.0.2".into()], 0)
            .await
            .unwrap()
            .len(),
        1,
        "a mark of two days ago stays; one of 31 days goes"
    );
    assert!(s.is_access_revoked("j-live").await.unwrap());
    assert_eq!(
        s.login_failures(&["fresh".into()], 0).await.unwrap().len(),
        1
    );
    // Later, every refresh token of the seed has expired with its access token.
    let removed = s.prune_expired(NOW + 301, NOW - 3600).await.unwrap();
    assert_eq!(
        removed
            .iter()
            .find(|(t, _)| *t == "refresh_tokens")
            .unwrap()
            .1,
        5
    );
    let after = s.table_counts().await.unwrap();
    assert_eq!(count(&after, "refresh_tokens"), 0);
    assert_eq!(count(&after, "users"), 3, "users are never pruned");
    assert_eq!(count(&after, "signing_keys"), 3);

    // Sign-ups nobody confirmed go once their links have: not before, and not accounts
    // that only lack a usable password or a verified address.
    let pending = |name: &str, hash: &str, verified: bool| {
        let mut u = new_user(name);
        u.password_hash = hash.into();
        u.email_verified = verified;
        u.date_joined = OffsetDateTime::from_unix_timestamp(NOW - 7200).unwrap();
        u
    };
    let never = s.create_user(&pending("never", "!", false)).await.unwrap();
    let linked = s.create_user(&pending("linked", "!", false)).await.unwrap();
    s.create_user(&pending("no-password", "!", true))
        .await
        .unwrap();
    s.create_user(&pending(
        "old-style",
        "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
        false,
    ))
    .await
    .unwrap();
    let mut fresh = pending("fresh", "!", false);
    fresh.date_joined = OffsetDateTime::from_unix_timestamp(NOW + 300).unwrap();
    s.create_user(&fresh).await.unwrap();
    s.insert_user_link(&tessera_server::store::UserLink {
        token_hash: "live-link".into(),
        user_id: linked.id,
        purpose: LinkPurpose::Verify,
        new_email: None,
        expires_at: NOW + 3600,
        signup: Default::default(),
    })
    .await
    .unwrap();
    let removed = s.prune_expired(NOW + 301, NOW - 3600).await.unwrap();
    let pruned = removed
        .iter()
        .find(|(t, _)| t.starts_with("users"))
        .unwrap()
        .1;
    assert_eq!(pruned, 1);
    assert!(s.user_by_id(never.id).await.unwrap().is_none());
    assert!(s.user_by_id(linked.id).await.unwrap().is_some());
    assert_eq!(count(&s.table_counts().await.unwrap(), "users"), 7);
}

/// Users, keys, a live family with a rotated ancestor, a revoked family, an expired token.
pub async fn seed_installation(s: &DynStore) {
    let mut ids = Vec::new();
    for name in ["u1", "u2", "u3"] {
        ids.push(s.create_user(&new_user(name)).await.unwrap().id);
    }
    s.record_login(
        ids[0],
        OffsetDateTime::from_unix_timestamp(NOW + 1).unwrap(),
    )
    .await
    .unwrap();
    s.insert_signing_key(&key("k1", "RS256", KeyState::Active))
        .await
        .unwrap();
    s.insert_signing_key(&key("m1", "HS256", KeyState::Active))
        .await
        .unwrap();
    s.insert_signing_key(&key("k2", "RS256", KeyState::Next))
        .await
        .unwrap();
    s.insert_refresh(&token("a0", "live", ids[0], NOW + 100))
        .await
        .unwrap();
    let a1 = token("a1", "live", ids[0], NOW + 100);
    s.rotate_refresh("a0", &a1, NOW).await.unwrap();
    s.insert_refresh(&token("b0", "dead", ids[1], NOW + 100))
        .await
        .unwrap();
    s.revoke_family_of("b0", NOW).await.unwrap();
    s.insert_refresh(&token("c0", "gone", ids[2], NOW - 10))
        .await
        .unwrap();
    s.create_client(&client("web", Some("ab12"))).await.unwrap();
    s.create_client(&client("spa", None)).await.unwrap();
    let mut oauth = token("o0", "oauth", ids[1], NOW + 100);
    oauth.client_id = Some("web".into());
    oauth.scope = Some("openid read:orders".into());
    s.insert_refresh(&oauth).await.unwrap();
}

pub async fn snapshot_restores_into_an_empty_store_only(f: Fixture) {
    let s = f.store.clone();
    seed_installation(&s).await;
    // A user's second factor travels with them (sealed), and only unused codes do.
    // (A user of their own: confirming ends the user's sessions and families.)
    let first = s.create_user(&new_user("factor")).await.unwrap().id;
    assert!(s.begin_totp(first, b"sealed-bytes", NOW).await.unwrap());
    let codes = ["h1".to_owned(), "h2".to_owned()];
    assert!(
        s.confirm_totp(first, b"sealed-bytes", 7, NOW, &codes)
            .await
            .unwrap()
    );
    assert!(s.use_recovery_code(first, "h1", NOW).await.unwrap());
    let passkey = tessera_server::store::PasskeyRow {
        credential_id: "snap-cred".into(),
        user_id: first,
        handle: "h".into(),
        name: "key".into(),
        passkey: "{}".into(),
        created_at: NOW,
        last_used_at: Some(NOW),
    };
    s.insert_passkey(&passkey, &[]).await.unwrap();
    let snapshot = s.snapshot(NOW).await.unwrap();
    assert_eq!(snapshot.passkeys, vec![passkey]);
    assert_eq!(snapshot.totp_secrets.len(), 1);
    assert_eq!(snapshot.totp_secrets[0].sealed, b"sealed-bytes");
    assert_eq!(
        snapshot.recovery_codes.len(),
        1,
        "the used code is left out"
    );
    let counts = snapshot.counts();
    assert_eq!(counts.users, 4);
    assert_eq!(counts.clients, 2);
    assert_eq!(counts.signing_keys, 3);
    assert_eq!(counts.refresh_tokens, 4, "the expired row is left out");
    assert_eq!(counts.live_families, 2);
    assert_eq!(counts.revoked_access, 1, "b0's access token");
    assert!(matches!(
        s.restore(&snapshot).await,
        Err(StoreError::NotEmpty)
    ));

    // Round trip through JSON, as `tessera export`/`import` do, into a fresh store of the
    // same backend (its own fixture), then compare everything.
    let json = serde_json::to_string(&snapshot).unwrap();
    let read: tessera_server::store::Snapshot = serde_json::from_str(&json).unwrap();
    assert_eq!(read, snapshot);
    let fresh = f.another().await;
    fresh.store.restore(&read).await.unwrap();
    assert_eq!(fresh.store.snapshot(NOW).await.unwrap(), snapshot);
    // Ids continue after the imported ones, and the imported family still rotates once.
    let next = fresh.store.create_user(&new_user("u4")).await.unwrap();
    assert_eq!(
        next.id,
        snapshot.users.iter().map(|u| u.id).max().unwrap() + 1
    );
    let a2 = token("a2", "live", 1, NOW + 100);
    assert_eq!(
        fresh.store.rotate_refresh("a1", &a2, NOW).await.unwrap(),
        RotateOutcome::Rotated
    );
    assert_eq!(
        fresh.store.rotate_refresh("a0", &a2, NOW).await.unwrap(),
        RotateOutcome::Reused,
        "reuse detection survives the move"
    );
}

/// Polls `fut` `polls` times, letting the runtime run in between, then drops it: a caller
/// that gave up (a client hanging up, a timeout) at every possible point.
async fn abandon_after<F: std::future::Future>(fut: F, polls: usize) {
    let mut fut = std::pin::pin!(fut);
    for _ in 0..polls {
        let step = std::future::poll_fn(|cx| std::task::Poll::Ready(fut.as_mut().poll(cx))).await;
        if step.is_ready() {
            return;
        }
        tokio::task::yield_now().await;
    }
}

pub async fn cancelled_operations_leave_no_transaction_open(f: Fixture) {
    let s = f.store.clone();
    let u = s.create_user(&new_user("kim")).await.unwrap();
    s.insert_refresh(&token("k0", "kf", u.id, NOW + 100))
        .await
        .unwrap();
    // One connection, so the next caller gets exactly the connection the abandoned call
    // used; abandoned after every possible number of polls.
    let settings = tessera_server::config::DatabaseSettings {
        max_connections: 1,
        ..Default::default()
    };
    for polls in 0..48 {
        let single = tessera_server::store::connect(&f.url, &settings)
            .await
            .unwrap();
        abandon_after(single.revoke_family_of("k0", NOW), polls).await;
        // The write that follows is committed: another pool sees it.
        let jti = format!("after-{polls}");
        single
            .insert_refresh(&token(&jti, &format!("af-{polls}"), u.id, NOW + 100))
            .await
            .unwrap();
        assert_eq!(
            s.refresh_state(&jti, NOW).await.unwrap(),
            Some(RefreshState::Active),
            "the write after a call abandoned at poll {polls} was lost"
        );
    }
    // A full pool, abandoned calls of every kind: the orphaned transactions neither hold
    // a lock (SQLite's write lock would fail every later writer) nor swallow later writes.
    for polls in 0..400 {
        abandon_after(s.revoke_family_of("k0", NOW), polls % 40).await;
        let next = token(&format!("k-next-{polls}"), "kf", u.id, NOW + 100);
        abandon_after(s.rotate_refresh("k0", &next, NOW), polls % 40).await;
    }
    for i in 0..32 {
        let jti = format!("later-{i}");
        s.insert_refresh(&token(&jti, &format!("lf-{i}"), u.id, NOW + 100))
            .await
            .unwrap();
        let fresh = tessera_server::store::connect(&f.url, &settings)
            .await
            .unwrap();
        assert_eq!(
            fresh.refresh_state(&jti, NOW).await.unwrap(),
            Some(RefreshState::Active),
            "write {i} was lost"
        );
    }
}

pub async fn clients_are_stored_and_deleting_one_ends_its_sessions(f: Fixture) {
    let s = f.store;
    let u = s.create_user(&new_user("lee")).await.unwrap();
    let web = client("web", Some("00ff"));
    s.create_client(&web).await.unwrap();
    s.create_client(&client("spa", None)).await.unwrap();
    assert!(matches!(
        s.create_client(&client("web", None)).await,
        Err(StoreError::Conflict("client"))
    ));
    assert_eq!(s.client("web").await.unwrap(), Some(web.clone()));
    assert_eq!(s.client("nope").await.unwrap(), None);
    let ids: Vec<_> = s
        .list_clients()
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.client_id)
        .collect();
    assert_eq!(ids, ["spa", "web"]);

    assert!(s.set_client_secret("web", "1234").await.unwrap());
    assert_eq!(
        s.client("web")
            .await
            .unwrap()
            .unwrap()
            .secret_hash
            .as_deref(),
        Some("1234")
    );
    assert!(
        !s.set_client_secret("spa", "1234").await.unwrap(),
        "public clients have no secret"
    );
    assert!(!s.set_client_secret("nope", "1234").await.unwrap());

    let mut bound = token("w1", "wf", u.id, NOW + 100);
    bound.client_id = Some("web".into());
    bound.scope = Some("openid".into());
    s.insert_refresh(&bound).await.unwrap();
    s.insert_refresh(&token("d1", "df", u.id, NOW + 100))
        .await
        .unwrap();
    s.revoke_access("lone-access", NOW + 60).await.unwrap();
    s.revoke_access("lone-access", NOW + 60).await.unwrap();
    assert!(s.is_access_revoked("lone-access").await.unwrap());

    assert!(s.delete_client("web", NOW).await.unwrap());
    assert!(!s.delete_client("web", NOW).await.unwrap());
    assert_eq!(s.client("web").await.unwrap(), None);
    assert_eq!(
        s.refresh_state("w1", NOW).await.unwrap(),
        Some(RefreshState::Revoked)
    );
    assert!(s.is_access_revoked("a-w1").await.unwrap());
    assert_eq!(
        s.refresh_state("d1", NOW).await.unwrap(),
        Some(RefreshState::Active),
        "not its token"
    );
}

pub async fn users_are_searched_paged_updated_and_deleted(f: Fixture) {
    let s = f.store;
    for name in ["ann", "anna", "bob", "jo_anne", "zed"] {
        s.create_user(&new_user(name)).await.unwrap();
    }
    let (page, total) = s.search_users("ANN", 0, 2).await.unwrap();
    assert_eq!(total, 3);
    let names: Vec<_> = page.iter().map(|u| u.username.as_str()).collect();
    assert_eq!(names, ["ann", "anna"]);
    let (rest, _) = s.search_users("ann", 2, 2).await.unwrap();
    assert_eq!(rest[0].username, "jo_anne");
    // `_` and `%` are literal.
    assert_eq!(s.search_users("o_a", 0, 10).await.unwrap().1, 1);
    assert_eq!(s.search_users("%", 0, 10).await.unwrap().1, 0);
    assert_eq!(s.search_users("", 0, 10).await.unwrap().1, 5);

    let mut bob = s.user_by_username("bob").await.unwrap().unwrap();
    bob.roles = vec!["admin".into(), "reader".into()];
    bob.groups = vec!["ops".into()];
    bob.services = Some(vec!["billing".into()]);
    bob.first_name = "Robert".into();
    assert!(s.update_user_profile(&bob, NOW).await.unwrap());
    let stored = s.user_by_id(bob.id).await.unwrap().unwrap();
    assert_eq!(stored, bob, "every field round-trips, JSON lists included");
    bob.services = None;
    assert!(s.update_user_profile(&bob, NOW).await.unwrap());
    assert_eq!(s.user_by_id(bob.id).await.unwrap().unwrap().services, None);
    bob.email = "ANN@example.com".into();
    assert!(matches!(
        s.update_user_profile(&bob, NOW).await,
        Err(StoreError::Conflict("email"))
    ));

    s.insert_refresh(&token("b1", "bf", bob.id, NOW + 100))
        .await
        .unwrap();
    assert!(s.delete_user(bob.id, NOW).await.unwrap());
    assert!(
        s.is_access_revoked("a-b1").await.unwrap(),
        "its access token is blocked"
    );
    assert!(s.user_by_id(bob.id).await.unwrap().is_none());
    assert_eq!(s.refresh_state("b1", NOW).await.unwrap(), None);
    assert!(!s.delete_user(bob.id, NOW).await.unwrap());
}

/// A sign-up's verification link carries its choices: redeeming it sets them (password
/// hash, username with its key, names) in the same transaction; a username taken
/// meanwhile is a conflict and the link stays unused.
pub async fn a_sign_up_link_applies_the_choices_it_carries(f: Fixture) {
    use tessera_server::store::{PendingSignup, UserLink};
    let s = f.store;
    let mut pending = new_user("first-choice");
    pending.email_verified = false;
    pending.password_hash = "!".into();
    let pending = s.create_user(&pending).await.unwrap();
    let taken = s.create_user(&new_user("taken")).await.unwrap();
    let link = |hash: &str, username: &str| UserLink {
        token_hash: hash.into(),
        user_id: pending.id,
        purpose: LinkPurpose::Verify,
        new_email: None,
        expires_at: NOW + 60,
        signup: PendingSignup {
            password_hash: Some(format!("hash-of-{hash}")),
            username: Some(username.into()),
            first_name: Some("Owner".into()),
            last_name: Some(String::new()),
        },
    };
    s.insert_user_link(&link("clash", "TAKEN")).await.unwrap();
    s.insert_user_link(&link("mine", "Owner")).await.unwrap();
    assert!(matches!(
        s.redeem_user_link("clash", LinkPurpose::Verify, NOW).await,
        Err(StoreError::Conflict("username"))
    ));
    assert!(s.user_link("clash").await.unwrap().is_some(), "not used up");
    assert!(
        !s.user_by_id(pending.id)
            .await
            .unwrap()
            .unwrap()
            .email_verified
    );
    let used = s
        .redeem_user_link("mine", LinkPurpose::Verify, NOW)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(used.signup.username.as_deref(), Some("Owner"));
    let owner = s.user_by_id(pending.id).await.unwrap().unwrap();
    assert!(owner.email_verified);
    assert_eq!(owner.password_hash, "hash-of-mine");
    assert_eq!(owner.username, "Owner");
    assert_eq!(owner.first_name, "Owner");
    assert_eq!(
        s.user_by_username("owner").await.unwrap().unwrap().id,
        owner.id
    );
    assert!(s.user_by_username("first-choice").await.unwrap().is_none());
    assert!(
        s.redeem_user_link("clash", LinkPurpose::Verify, NOW)
            .await
            .unwrap()
            .is_none(),
        "the address's other verification links went with it"
    );
    assert_eq!(s.user_by_username("taken").await.unwrap().unwrap(), taken);
}

pub async fn links_are_used_once_before_they_expire(f: Fixture) {
    use tessera_server::store::UserLink;
    let s = f.store;
    let mut u = new_user("lena");
    u.email_verified = false;
    let u = s.create_user(&u).await.unwrap();
    assert!(!u.email_verified);
    let link =
        |hash: &str, purpose: LinkPurpose, expires_at: i64, new_email: Option<&str>| UserLink {
            token_hash: hash.into(),
            user_id: u.id,
            purpose,
            new_email: new_email.map(str::to_owned),
            expires_at,
            signup: Default::default(),
        };
    s.insert_user_link(&link("v1", LinkPurpose::Verify, NOW + 60, None))
        .await
        .unwrap();
    s.insert_user_link(&link("v2", LinkPurpose::Verify, NOW + 60, None))
        .await
        .unwrap();
    s.insert_user_link(&link("old", LinkPurpose::Reset, NOW - 1, None))
        .await
        .unwrap();
    assert!(s.user_link("v1").await.unwrap().is_some());
    assert!(
        s.redeem_user_link("v1", LinkPurpose::Reset, NOW)
            .await
            .unwrap()
            .is_none(),
        "purpose"
    );
    assert!(
        s.redeem_user_link("old", LinkPurpose::Reset, NOW)
            .await
            .unwrap()
            .is_none(),
        "expired"
    );
    let used = s
        .redeem_user_link("v1", LinkPurpose::Verify, NOW)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(used.user_id, u.id);
    assert!(s.user_by_id(u.id).await.unwrap().unwrap().email_verified);
    assert!(
        s.redeem_user_link("v1", LinkPurpose::Verify, NOW)
            .await
            .unwrap()
            .is_none(),
        "once"
    );
    assert!(
        s.redeem_user_link("v2", LinkPurpose::Verify, NOW)
            .await
            .unwrap()
            .is_none(),
        "the user's other links of that purpose went with it"
    );

    s.insert_user_link(&link(
        "e1",
        LinkPurpose::Email,
        NOW + 60,
        Some("lena.new@example.com"),
    ))
    .await
    .unwrap();
    s.redeem_user_link("e1", LinkPurpose::Email, NOW)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        s.user_by_id(u.id).await.unwrap().unwrap().email,
        "lena.new@example.com"
    );
    // An address taken meanwhile: refused, nothing changes.
    let other = s.create_user(&new_user("taken")).await.unwrap();
    s.insert_user_link(&link(
        "e2",
        LinkPurpose::Email,
        NOW + 60,
        Some(&other.email),
    ))
    .await
    .unwrap();
    assert!(matches!(
        s.redeem_user_link("e2", LinkPurpose::Email, NOW).await,
        Err(StoreError::Conflict("email"))
    ));
    assert!(s.user_link("e2").await.unwrap().is_some(), "rolled back");
}

pub async fn logging_out_everywhere_ends_families_and_browser_sessions(f: Fixture) {
    use tessera_server::store::Session;
    let s = f.store;
    let u = s.create_user(&new_user("max")).await.unwrap();
    for (jti, fam) in [("m1", "ma"), ("m2", "mb")] {
        s.insert_refresh(&token(jti, fam, u.id, NOW + 100))
            .await
            .unwrap();
    }
    for hash in ["s1", "s2"] {
        s.create_session(&Session {
            token_hash: hash.into(),
            sid: format!("sid-{hash}"),
            user_id: u.id,
            auth_time: NOW,
            expires_at: NOW + 100,
            session_epoch: 0,
            methods: String::new(),
        })
        .await
        .unwrap();
    }
    assert_eq!(s.user_sessions(u.id, NOW).await.unwrap().len(), 2);
    assert_eq!(s.user_families(u.id, NOW).await.unwrap().len(), 2);
    s.create_client(&client("web", None)).await.unwrap();
    let code = |hash: &str| tessera_server::store::AuthCode {
        code_hash: hash.into(),
        client_id: "web".into(),
        user_id: u.id,
        redirect_uri: "https://app.example.com/cb".into(),
        scope: "openid".into(),
        nonce: None,
        code_challenge: None,
        sid: "sid-s1".into(),
        auth_time: NOW,
        expires_at: NOW + 60,
        session_epoch: 0,
        methods: String::new(),
    };
    s.insert_code(&code("c1")).await.unwrap();
    assert_eq!(s.user_by_id(u.id).await.unwrap().unwrap().session_epoch, 0);
    s.end_user_sessions(u.id, NOW).await.unwrap();
    assert!(s.user_sessions(u.id, NOW).await.unwrap().is_empty());
    assert!(s.user_families(u.id, NOW).await.unwrap().is_empty());
    assert!(s.session("s1", NOW).await.unwrap().is_none());
    assert!(s.is_access_revoked("a-m2").await.unwrap());
    assert!(
        matches!(s.redeem_code("c1", NOW).await.unwrap(), Redemption::Unknown),
        "a code not yet redeemed is void"
    );
    let epoch = || async { s.user_by_id(u.id).await.unwrap().unwrap().session_epoch };
    assert_eq!(epoch().await, 1, "every token issued before is refused");
    // Every other way of ending the sessions moves the epoch on too; a password change
    // that keeps them does not.
    s.set_password_hash(u.id, "!", false, NOW).await.unwrap();
    assert_eq!(epoch().await, 1);
    s.set_password_hash(u.id, "!", true, NOW).await.unwrap();
    assert_eq!(epoch().await, 2);
    s.set_active(u.id, false, NOW).await.unwrap();
    assert_eq!(epoch().await, 3);
    s.set_active(u.id, true, NOW).await.unwrap();
    assert_eq!(epoch().await, 3, "enabling revives nothing");
}

pub async fn a_hash_upgrade_never_overwrites_a_password_set_meanwhile(f: Fixture) {
    let s = f.store;
    let u = s.create_user(&new_user("rehash")).await.unwrap();
    let old = u.password_hash.clone();
    // A login verified `old` and rehashes it; meanwhile an admin sets a new password.
    s.set_password_hash(u.id, "admin-set", true, NOW)
        .await
        .unwrap();
    assert!(
        !s.upgrade_password_hash(u.id, &old, "rehash-of-old")
            .await
            .unwrap()
    );
    assert_eq!(
        s.user_by_id(u.id).await.unwrap().unwrap().password_hash,
        "admin-set"
    );
    // Without a change in between, the upgrade happens.
    assert!(
        s.upgrade_password_hash(u.id, "admin-set", "upgraded")
            .await
            .unwrap()
    );
    assert_eq!(
        s.user_by_id(u.id).await.unwrap().unwrap().password_hash,
        "upgraded"
    );
}

/// A redeemed code enrols its client in the code's session; ending that session (or every
/// session of the user) queues one back-channel logout per enrolled client with a
/// `backchannel_logout_uri`, in the same transaction, and forgets the enrolment (a client
/// hears of a session's end once). A delivery is taken by one caller at a time.
pub async fn ending_a_session_queues_one_logout_per_client_that_took_part(f: Fixture) {
    use tessera_server::store::Session;
    let s = f.store;
    let u = s.create_user(&new_user("lena")).await.unwrap();
    s.create_client(&client("web", None)).await.unwrap();
    s.create_client(&client("shop", None)).await.unwrap();
    let mut quiet = client("quiet", None);
    quiet.backchannel_logout_uri = None;
    quiet.frontchannel_logout_uri = None;
    s.create_client(&quiet).await.unwrap();
    for hash in ["h1", "h2"] {
        s.create_session(&Session {
            token_hash: hash.into(),
            sid: format!("sid-{hash}"),
            user_id: u.id,
            auth_time: NOW,
            expires_at: NOW + 1000,
            session_epoch: 0,
            methods: String::new(),
        })
        .await
        .unwrap();
    }
    let enrol = |code: &'static str, client: &'static str, sid: &'static str| {
        let s = s.clone();
        async move {
            s.insert_code(&tessera_server::store::AuthCode {
                code_hash: code.into(),
                client_id: client.into(),
                user_id: u.id,
                redirect_uri: "https://app.example.com/cb".into(),
                scope: "openid".into(),
                nonce: None,
                code_challenge: None,
                sid: sid.into(),
                auth_time: NOW,
                expires_at: NOW + 60,
                session_epoch: 0,
                methods: String::new(),
            })
            .await
            .unwrap();
            assert!(matches!(
                s.redeem_code(code, NOW).await.unwrap(),
                Redemption::Valid(_)
            ));
        }
    };
    enrol("c1", "web", "sid-h1").await;
    enrol("c2", "web", "sid-h1").await; // twice in one session: still one logout
    enrol("c3", "quiet", "sid-h1").await; // no back-channel URI: none
    enrol("c4", "shop", "sid-h2").await;
    assert!(
        s.due_logout_deliveries(NOW, 10, 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        s.session_frontchannel_uris("h1").await.unwrap(),
        vec![("https://web.example.com/fc".to_owned(), "sid-h1".to_owned())]
    );

    assert!(s.end_session("h1", NOW).await.unwrap());
    let due = s.due_logout_deliveries(NOW, 10, 10).await.unwrap();
    assert_eq!(due.len(), 1, "{due:?}");
    let d = &due[0];
    assert_eq!(
        (
            d.client_id.as_str(),
            d.uri.as_str(),
            d.sub.clone(),
            d.sid.as_deref()
        ),
        (
            "web",
            "https://web.example.com/bc",
            u.id.to_string(),
            Some("sid-h1")
        )
    );
    assert_eq!((d.attempts, d.created_at, d.next_attempt_at), (0, NOW, NOW));
    assert!(s.session_frontchannel_uris("h1").await.unwrap().is_empty());
    // Ending it again, or every session of the user, does not queue it twice.
    assert!(!s.end_session("h1", NOW).await.unwrap());
    s.end_user_sessions(u.id, NOW + 1).await.unwrap();
    let due = s.due_logout_deliveries(NOW + 1, 10, 10).await.unwrap();
    let mut who: Vec<_> = due
        .iter()
        .map(|d| (d.client_id.clone(), d.sid.clone().unwrap()))
        .collect();
    who.sort();
    assert_eq!(
        who,
        [
            ("shop".to_owned(), "sid-h2".to_owned()),
            ("web".to_owned(), "sid-h1".to_owned())
        ]
    );
    s.end_user_sessions(u.id, NOW + 2).await.unwrap();
    assert_eq!(
        s.due_logout_deliveries(NOW + 2, 10, 10)
            .await
            .unwrap()
            .len(),
        2
    );

    // One caller takes an attempt; the row is then due only after the lease.
    let web = due.iter().find(|d| d.client_id == "web").unwrap();
    assert!(
        s.lease_logout_delivery(web.id, web.next_attempt_at, NOW + 60)
            .await
            .unwrap()
    );
    assert!(
        !s.lease_logout_delivery(web.id, web.next_attempt_at, NOW + 60)
            .await
            .unwrap()
    );
    let due = s.due_logout_deliveries(NOW + 2, 10, 10).await.unwrap();
    assert_eq!(due.len(), 1);
    s.retry_logout_delivery(web.id, NOW + 5).await.unwrap();
    let later = s.due_logout_deliveries(NOW + 5, 10, 10).await.unwrap();
    let again = later.iter().find(|d| d.id == web.id).unwrap();
    assert_eq!(again.attempts, 1);
    s.finish_logout_delivery(web.id).await.unwrap();
    // Deleting a client drops what it had still to hear.
    assert!(s.delete_client("shop", NOW + 5).await.unwrap());
    assert!(
        s.due_logout_deliveries(NOW + 5, 10, 10)
            .await
            .unwrap()
            .is_empty()
    );
}

/// A pushed authorization request is taken once, only before it expires, and goes with
/// its client; pruning removes expired ones.
pub async fn pushed_requests_are_taken_once_before_they_expire(f: Fixture) {
    let s = f.store;
    s.create_client(&client("web", None)).await.unwrap();
    assert!(
        s.client("web")
            .await
            .unwrap()
            .unwrap()
            .require_pushed_authorization_requests
    );
    for (hash, expires) in [("p1", NOW + 60), ("p2", NOW - 1), ("p3", NOW + 60)] {
        s.insert_pushed_request(hash, "web", r#"{"state":"s"}"#, expires)
            .await
            .unwrap();
    }
    assert_eq!(
        s.take_pushed_request("p1", NOW).await.unwrap(),
        Some(("web".to_owned(), r#"{"state":"s"}"#.to_owned()))
    );
    assert_eq!(
        s.take_pushed_request("p1", NOW).await.unwrap(),
        None,
        "once"
    );
    assert_eq!(
        s.take_pushed_request("p2", NOW).await.unwrap(),
        None,
        "expired"
    );
    assert_eq!(s.take_pushed_request("nope", NOW).await.unwrap(), None);
    assert!(s.delete_client("web", NOW).await.unwrap());
    assert_eq!(
        s.take_pushed_request("p3", NOW).await.unwrap(),
        None,
        "with its client"
    );
}

/// Second factors: a TOTP step accepted once and never an earlier one, an authenticator
/// that stops after 100 wrong codes in a row, recovery codes spent once, tickets bounded
/// in attempts, taken only for their purpose, one live per user and purpose.
pub async fn second_factors_are_used_once_and_bounded(f: Fixture) {
    let s = f.store.clone();
    let u = s.create_user(&new_user("mfa")).await.unwrap();
    assert!(s.begin_totp(u.id, b"one", NOW).await.unwrap());
    assert!(
        !s.use_totp_step(u.id, 10, NOW).await.unwrap(),
        "pending: takes no code"
    );
    assert!(
        !s.confirm_totp(u.id, b"not the one", 10, NOW, &[])
            .await
            .unwrap(),
        "only the secret the code was checked against"
    );
    assert!(
        s.confirm_totp(u.id, b"one", 10, NOW, &["r1".into()])
            .await
            .unwrap()
    );
    assert!(
        !s.begin_totp(u.id, b"two", NOW).await.unwrap(),
        "confirmed stays"
    );
    assert!(
        !s.use_totp_step(u.id, 10, NOW).await.unwrap(),
        "the confirming step"
    );
    assert!(s.use_totp_step(u.id, 11, NOW).await.unwrap());
    assert!(!s.use_totp_step(u.id, 11, NOW).await.unwrap(), "a replay");
    assert!(
        !s.use_totp_step(u.id, 9, NOW).await.unwrap(),
        "an earlier step"
    );
    for _ in 0..tessera_server::store::TOTP_MAX_FAILURES {
        s.record_totp_failure(u.id).await.unwrap();
    }
    assert!(
        !s.use_totp_step(u.id, 12, NOW).await.unwrap(),
        "locked after 100"
    );
    assert!(s.use_recovery_code(u.id, "r1", NOW).await.unwrap());
    assert!(!s.use_recovery_code(u.id, "r1", NOW).await.unwrap());
    let ticket = |hash: &str, purpose: &str| tessera_server::store::MfaTicket {
        token_hash: hash.into(),
        user_id: u.id,
        session_epoch: u.session_epoch,
        methods: "[]".into(),
        purpose: purpose.into(),
        failures: 0,
        expires_at: NOW + 300,
    };
    s.insert_mfa_ticket(&ticket("a", "api")).await.unwrap();
    s.insert_mfa_ticket(&ticket("b", "browser")).await.unwrap();
    assert!(
        s.attempt_mfa_ticket("a", "browser", 5, NOW)
            .await
            .unwrap()
            .is_none()
    );
    for _ in 0..5 {
        assert!(
            s.attempt_mfa_ticket("a", "api", 5, NOW)
                .await
                .unwrap()
                .is_some()
        );
    }
    assert!(
        s.attempt_mfa_ticket("a", "api", 5, NOW)
            .await
            .unwrap()
            .is_none(),
        "out of attempts"
    );
    s.insert_mfa_ticket(&ticket("b2", "browser")).await.unwrap();
    assert!(
        s.mfa_ticket("b", "browser", 5, NOW)
            .await
            .unwrap()
            .is_none(),
        "replaced"
    );
    assert!(
        s.mfa_ticket("b2", "browser", 5, NOW + 301)
            .await
            .unwrap()
            .is_none(),
        "expired"
    );
    assert!(s.take_mfa_ticket("b2").await.unwrap());
    assert!(!s.take_mfa_ticket("b2").await.unwrap());
    // A reset removes it all.
    assert!(s.reset_factors(u.id, NOW).await.unwrap());
    assert!(s.totp_secret(u.id).await.unwrap().is_none());
    assert!(s.recovery_codes(u.id).await.unwrap().is_none());
}

/// `tessera keys rewrap` re-seals the TOTP secrets with the keys: after it, the new master
/// key opens them and the old one does not.
pub async fn rewrap_reseals_totp_secrets_too(f: Fixture) {
    use tessera_server::keys::MasterKey;
    let s = f.store.clone();
    let (old, new) = (
        MasterKey::generate().unwrap(),
        MasterKey::generate().unwrap(),
    );
    let u = s.create_user(&new_user("rewrapped")).await.unwrap();
    let context = MasterKey::totp_context(u.id);
    let sealed = old.seal(b"twenty bytes secret!", &context).unwrap();
    assert!(s.begin_totp(u.id, &sealed, NOW).await.unwrap());
    let count = tessera_server::keys::rewrap(s.as_ref(), &old, &new)
        .await
        .unwrap();
    assert_eq!(count, 1, "no keys stored here; one secret");
    let now = s.totp_secret(u.id).await.unwrap().unwrap().sealed;
    assert_eq!(
        new.open(&now, &context).unwrap().as_slice(),
        b"twenty bytes secret!"
    );
    assert!(old.open(&now, &context).is_err());
}

/// Passkeys: a credential id registered once (to anyone), a use written over the state it
/// read (a concurrent use of a copy loses), removal of the user's own only.
pub async fn passkeys_are_unique_and_used_over_their_state(f: Fixture) {
    let s = f.store.clone();
    let a = s.create_user(&new_user("pk-a")).await.unwrap();
    let b = s.create_user(&new_user("pk-b")).await.unwrap();
    let row = |user: i64| tessera_server::store::PasskeyRow {
        credential_id: "cred-1".into(),
        user_id: user,
        handle: "h".into(),
        name: "laptop".into(),
        passkey: "{\"v\":1}".into(),
        created_at: NOW,
        last_used_at: None,
    };
    s.insert_passkey(&row(a.id), &["r".into()]).await.unwrap();
    assert!(matches!(
        s.insert_passkey(&row(b.id), &[]).await,
        Err(StoreError::Conflict(_))
    ));
    assert!(
        s.use_passkey("cred-1", "{\"v\":1}", "{\"v\":2}", NOW)
            .await
            .unwrap()
    );
    assert!(
        !s.use_passkey("cred-1", "{\"v\":1}", "{\"v\":3}", NOW)
            .await
            .unwrap(),
        "stale"
    );
    assert_eq!(
        s.passkey("cred-1").await.unwrap().unwrap().passkey,
        "{\"v\":2}"
    );
    assert!(
        !s.remove_passkey(b.id, "cred-1", false, NOW).await.unwrap(),
        "not b's"
    );
    assert!(s.remove_passkey(a.id, "cred-1", true, NOW).await.unwrap());
    assert!(s.passkeys_of(a.id).await.unwrap().is_empty());
    assert!(
        s.recovery_codes(a.id).await.unwrap().is_none(),
        "the last factor took them"
    );
}
