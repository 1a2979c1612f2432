//! The mutation root: accounts and sessions, staff menu management, the
//! cart, checkout and the order lifecycle, and reviews.

use async_graphql::MergedObject;

use crate::account::AccountMutation;
use crate::cart::CartMutation;
use crate::checkout::CheckoutMutation;
use crate::menu_admin::MenuMutation;
use crate::order_lifecycle::OrderLifecycleMutation;
use crate::review_write::ReviewMutation;

/// Entry points for changing Bistro's data.
#[derive(MergedObject, Default)]
pub struct Mutation(
    AccountMutation,
    MenuMutation,
    CartMutation,
    CheckoutMutation,
    OrderLifecycleMutation,
    ReviewMutation,
);
