//! The mutation root: accounts and sessions, and staff menu management.

use async_graphql::MergedObject;

use crate::account::AccountMutation;
use crate::menu_admin::MenuMutation;

/// Entry points for changing Bistro's data.
#[derive(MergedObject, Default)]
pub struct Mutation(AccountMutation, MenuMutation);
