//! [`claim_state`](store::claim_state): one store, one state.

use store::{StateClaimError, claim_state};
use testkit::StoreKind;

use crate::content;

pub(crate) async fn a_store_holds_one_states_data(kind: StoreKind) {
    let f = kind.open().await;
    let s = &*f.store;
    claim_state(s, 2).await.unwrap();
    claim_state(s, 2).await.expect("the same state again");
    let err = claim_state(s, 11).await.unwrap_err();
    assert!(matches!(err, StateClaimError::OtherState { stored: 2, configured: 11 }), "{err:?}");
    assert!(!err.is_retryable());
    let message = err.to_string();
    for says in ["Baja California (02)", "Guanajuato (11)", "data_dir", "key_prefix", "state_code = 2"] {
        assert!(message.contains(says), "{message}");
    }
}

pub(crate) async fn a_store_with_answers_from_before_the_claim_holds_guanajuatos(kind: StoreKind) {
    let f = kind.open().await;
    let s = &*f.store;
    s.publish(&content(1, 3), None, 5).await.unwrap();
    let err = claim_state(s, 2).await.unwrap_err();
    assert!(matches!(err, StateClaimError::OtherState { stored: 11, configured: 2 }), "{err:?}");
    claim_state(s, 11).await.expect("Guanajuato's store stays Guanajuato's");
    claim_state(s, 11).await.unwrap();
}
