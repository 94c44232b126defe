//! The store conformance suite: every check runs against SQLite (always) and PostgreSQL
//! (when `TESSERA_TEST_POSTGRES_URL` is set; each check in a fresh schema), through the
//! `Store` trait only, so both backends are held to one contract.

mod checks;

use tessera_server::config::DatabaseSettings;
use tessera_server::store::{self, DynStore};

/// A store and whatever must outlive it.
pub struct Fixture {
    pub store: DynStore,
    /// The database URL (for a second pool on the same data).
    pub url: String,
    postgres: bool,
    _dir: Option<tempfile::TempDir>,
}

impl Fixture {
    /// Another empty store of the same backend.
    pub async fn another(&self) -> Fixture {
        if self.postgres {
            postgres().await.unwrap()
        } else {
            sqlite().await
        }
    }
}

async fn sqlite() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("t.db").display());
    let store = store::connect(&url, &DatabaseSettings::default())
        .await
        .unwrap();
    Fixture {
        store,
        url,
        postgres: false,
        _dir: Some(dir),
    }
}

async fn postgres() -> Option<Fixture> {
    tessera_test_support::postgres_url()?;
    let url = tessera_test_support::fresh_postgres_schema().await.unwrap();
    let store = store::connect(&url, &DatabaseSettings::default())
        .await
        .unwrap();
    Some(Fixture {
        store,
        url,
        postgres: true,
        _dir: None,
    })
}

/// For each named check in `checks`, a `sqlite::NAME` and a `postgres::NAME` test.
macro_rules! conformance {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    crate::store::checks::$name(crate::store::sqlite().await).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    match crate::store::postgres().await {
                        Some(f) => crate::store::checks::$name(f).await,
                        None => eprintln!("skipped: TESSERA_TEST_POSTGRES_URL is not set"),
                    }
                }
            )*
        }
    };
}

conformance!(
    users_are_unique_by_username_and_case_insensitive_email,
    a_sign_up_link_applies_the_choices_it_carries,
    a_missing_user_reads_as_none_and_updates_report_it,
    rotation_is_exactly_once_under_concurrency,
    concurrent_rotations_commit_independently,
    a_reused_token_revokes_its_family_and_access_tokens,
    expired_and_unknown_tokens_are_reported_as_such,
    disabling_a_user_ends_every_family,
    a_password_change_can_end_sessions,
    one_active_key_per_algorithm,
    activation_retires_the_previous_key_once,
    snapshot_restores_into_an_empty_store_only,
    second_factors_are_used_once_and_bounded,
    rewrap_reseals_totp_secrets_too,
    passkeys_are_unique_and_used_over_their_state,
    cancelled_operations_leave_no_transaction_open,
    clients_are_stored_and_deleting_one_ends_its_sessions,
    resealing_is_all_or_nothing,
    pruning_removes_only_what_has_expired,
    users_are_searched_paged_updated_and_deleted,
    links_are_used_once_before_they_expire,
    logging_out_everywhere_ends_families_and_browser_sessions,
    a_hash_upgrade_never_overwrites_a_password_set_meanwhile,
    ending_a_session_queues_one_logout_per_client_that_took_part,
    pushed_requests_are_taken_once_before_they_expire,
);

#[tokio::test]
async fn sqlite_exports_into_postgres_unchanged() {
    let Some(target) = postgres().await else {
        eprintln!("skipped: TESSERA_TEST_POSTGRES_URL is not set");
        return;
    };
    let source = sqlite().await;
    checks::seed_installation(&source.store).await;
    let now = checks::NOW;
    let snapshot = source.store.snapshot(now).await.unwrap();
    target.store.restore(&snapshot).await.unwrap();
    assert_eq!(target.store.snapshot(now).await.unwrap(), snapshot);
}
