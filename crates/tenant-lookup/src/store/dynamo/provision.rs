//! The provisioning transaction: membership put, provisioning guard put, invitation marked used
//! and seat increment in one `TransactWriteItems`, and what its cancellation reasons mean.

use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{CancellationReason, Put, TransactWriteItem, Update};

use super::codec::{
    attr, build_error, membership_from_item, membership_item, n, s, tenant_from_item, unavailable,
    with_keys,
};
use super::DynamoDirectory;

/// Attempts of the provisioning transaction when DynamoDB cancels it for a `TransactionConflict`
/// (concurrent transactions on the same items). The jittered pauses between them add up to at
/// most ~250 ms.
const PROVISION_ATTEMPTS: u32 = 3;
use crate::domain::model::{Tenant, TenantStatus};
use crate::store::{keys, Directory, DirectoryError, ProvisionOutcome, ProvisionRequest};
use crate::telemetry;

/// The role of each item of the provisioning transaction, in order: cancellation reasons come
/// back in the same order as the items.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Slot {
    Membership,
    Guard,
    Invitation,
    Tenant,
}

#[derive(Debug, PartialEq)]
enum Attempt {
    Done(ProvisionOutcome),
    Retry(String),
}

fn provision_items(
    table: &str,
    request: &ProvisionRequest,
) -> Result<Vec<(Slot, TransactWriteItem)>, DirectoryError> {
    let m = &request.membership;
    let mut items = Vec::with_capacity(3);

    let put = Put::builder()
        .table_name(table)
        .set_item(Some(membership_item(m)))
        .condition_expression("attribute_not_exists(#pk)")
        .expression_attribute_names("#pk", keys::PK)
        .build()
        .map_err(build_error)?;
    items.push((
        Slot::Membership,
        TransactWriteItem::builder().put(put).build(),
    ));

    // One provisioning per user, whatever the tenant: a retry that resolved differently (the
    // invitation it used is gone by then) or a concurrent first sign-in cannot add a second one.
    let guard = Put::builder()
        .table_name(table)
        .set_item(Some(with_keys(
            keys::user_pk(&m.user_pool_id, &m.sub),
            keys::PROVISIONED_SK.to_string(),
            [
                (attr::TENANT_ID, s(m.tenant_id.as_str())),
                (attr::CREATED_AT, n(m.created_at)),
            ],
        )))
        .condition_expression("attribute_not_exists(#pk)")
        .expression_attribute_names("#pk", keys::PK)
        .build()
        .map_err(build_error)?;
    items.push((Slot::Guard, TransactWriteItem::builder().put(guard).build()));

    if let (Some(tenant), Some(email)) = (&request.invitation_tenant_id, &request.invitation_email)
    {
        // Used once: marked with who and when, and kept (without its expiry, so that the TTL
        // never deletes the record and an import cannot bring the invitation back). It must
        // still be open: not used, revoked or expired since resolution read it.
        let email = email.trim().to_ascii_lowercase();
        let used = Update::builder()
            .table_name(table)
            .key(keys::PK, s(keys::invite_pk(&m.user_pool_id, &email)))
            .key(keys::SK, s(keys::tenant_sk(tenant)))
            .update_expression("SET #usedBy = :sub, #usedAt = :now REMOVE #expires")
            .condition_expression(
                "attribute_exists(#pk) AND attribute_not_exists(#usedBy) \
                 AND (attribute_not_exists(#expires) OR #expires > :now)",
            )
            .expression_attribute_names("#pk", keys::PK)
            .expression_attribute_names("#usedBy", attr::USED_BY)
            .expression_attribute_names("#usedAt", attr::USED_AT)
            .expression_attribute_names("#expires", attr::EXPIRES_AT)
            .expression_attribute_values(":sub", s(m.sub.as_str()))
            .expression_attribute_values(":now", n(m.created_at))
            .build()
            .map_err(build_error)?;
        items.push((
            Slot::Invitation,
            TransactWriteItem::builder().update(used).build(),
        ));
    }

    // `ADD` treats a missing userCount as 0; the condition does the same (a comparison with a
    // missing attribute is false, hence the explicit `attribute_not_exists(userCount)` branch).
    let update = Update::builder()
        .table_name(table)
        .key(keys::PK, s(keys::tenant_pk(&m.tenant_id)))
        .key(keys::SK, s(keys::TENANT_SK))
        .update_expression("ADD #count :one")
        .condition_expression(
            // The tenant must exist (an Update would otherwise create it) and be active; a
            // missing status reads as active, as everywhere else.
            "attribute_exists(#pk) AND (attribute_not_exists(#status) OR #status = :active) \
             AND (attribute_not_exists(#max) OR #count < #max \
             OR (attribute_not_exists(#count) AND #max > :zero))",
        )
        .expression_attribute_names("#pk", keys::PK)
        .expression_attribute_names("#status", attr::STATUS)
        .expression_attribute_names("#count", attr::USER_COUNT)
        .expression_attribute_names("#max", attr::MAX_USERS)
        .expression_attribute_values(":one", n(1))
        .expression_attribute_values(":zero", n(0))
        .expression_attribute_values(":active", s(TenantStatus::Active.as_str()))
        .build()
        .map_err(build_error)?;
    items.push((
        Slot::Tenant,
        TransactWriteItem::builder().update(update).build(),
    ));
    Ok(items)
}

impl DynamoDirectory {
    pub(super) async fn provision_with_retries(
        &self,
        request: &ProvisionRequest,
    ) -> Result<ProvisionOutcome, DirectoryError> {
        let items = provision_items(&self.table, request)?;
        let mut last = String::new();
        for attempt in 0..PROVISION_ATTEMPTS {
            if attempt > 0 {
                self.pause(attempt).await;
            }
            match self.try_provision(request, items.clone()).await? {
                Attempt::Done(outcome) => {
                    telemetry::provisioned(&outcome);
                    return Ok(outcome);
                }
                Attempt::Retry(why) => {
                    telemetry::provisioning_conflict_retried();
                    last = why
                }
            }
        }
        Err(DirectoryError::Unavailable(format!(
            "provisioning of sub '{}' in tenant '{}' did not settle after {PROVISION_ATTEMPTS} attempts: {last}",
            request.membership.sub, request.membership.tenant_id
        )))
    }

    async fn try_provision(
        &self,
        request: &ProvisionRequest,
        items: Vec<(Slot, TransactWriteItem)>,
    ) -> Result<Attempt, DirectoryError> {
        let (slots, items): (Vec<Slot>, Vec<TransactWriteItem>) = items.into_iter().unzip();
        let err = match self
            .client
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await
        {
            Ok(_) => return Ok(Attempt::Done(ProvisionOutcome::Created)),
            Err(err) => err,
        };
        let reasons = match err.as_service_error() {
            Some(TransactWriteItemsError::TransactionCanceledException(e)) => {
                e.cancellation_reasons()
            }
            _ => return Err(unavailable("TransactWriteItems")(err)),
        };
        let m = &request.membership;
        match classify_cancellation(&slots, reasons) {
            Cancellation::AlreadyMember => {
                let stored = self
                    .get_item(
                        keys::user_pk(&m.user_pool_id, &m.sub),
                        &keys::tenant_sk(&m.tenant_id),
                        true,
                    )
                    .await?;
                Ok(match stored {
                    Some(item) => Attempt::Done(ProvisionOutcome::AlreadyMember(
                        membership_from_item(&item)?,
                    )),
                    None => Attempt::Retry(
                        "membership condition failed but no membership is stored".into(),
                    ),
                })
            }
            Cancellation::ProvisionedElsewhere => {
                let existing = self.memberships(&m.user_pool_id, &m.sub).await?;
                Ok(Attempt::Done(match existing.into_iter().next() {
                    Some(other) => ProvisionOutcome::AlreadyMember(other),
                    None => ProvisionOutcome::ProvisionedBefore,
                }))
            }
            Cancellation::Conflict => Ok(Attempt::Retry(format!(
                "transaction conflict ({})",
                reason_codes(reasons)
            ))),
            Cancellation::InvitationGone => Ok(Attempt::Done(ProvisionOutcome::InvitationGone)),
            Cancellation::TenantRefused => {
                let stored = self
                    .get_item(keys::tenant_pk(&m.tenant_id), keys::TENANT_SK, true)
                    .await?;
                let tenant = stored.map(|item| tenant_from_item(&item)).transpose()?;
                Ok(tenant_refusal(tenant.as_ref()))
            }
            Cancellation::Other => Err(DirectoryError::Unavailable(format!(
                "TransactWriteItems cancelled: {}",
                reason_codes(reasons)
            ))),
        }
    }
}

/// What a cancelled provisioning transaction means, from its reasons (matched to the items by
/// index). The items are read back afterwards rather than returned with the cancellation
/// (`ReturnValuesOnConditionCheckFailure`): the functions' IAM roles may write only the
/// attributes the transaction sets, and a read of the whole item is a plain `GetItem`.
#[derive(Debug, PartialEq)]
enum Cancellation {
    /// The membership exists: a retry of this provisioning or a concurrent one. Nothing else
    /// matters then (the invitation may be gone and the tenant full because of it).
    AlreadyMember,
    /// The user's guard item exists: another provisioning (into another tenant) won.
    ProvisionedElsewhere,
    /// `TransactionConflict`: another transaction touched the same items; try again.
    Conflict,
    InvitationGone,
    /// The tenant is missing, suspended or full.
    TenantRefused,
    /// Anything else (throttling, validation, an unexpected shape).
    Other,
}

fn classify_cancellation(slots: &[Slot], reasons: &[CancellationReason]) -> Cancellation {
    if reasons.len() != slots.len() {
        return Cancellation::Other;
    }
    let reason_of = |slot: Slot| slots.iter().position(|s| *s == slot).map(|i| &reasons[i]);
    let failed =
        |slot: Slot| reason_of(slot).is_some_and(|r| r.code() == Some("ConditionalCheckFailed"));
    if failed(Slot::Membership) {
        Cancellation::AlreadyMember
    } else if failed(Slot::Guard) {
        Cancellation::ProvisionedElsewhere
    } else if reasons
        .iter()
        .any(|r| r.code() == Some("TransactionConflict"))
    {
        Cancellation::Conflict
    } else if failed(Slot::Invitation) {
        Cancellation::InvitationGone
    } else if failed(Slot::Tenant) {
        Cancellation::TenantRefused
    } else {
        Cancellation::Other
    }
}

/// The outcome when the tenant's condition failed, given the tenant as stored.
fn tenant_refusal(tenant: Option<&Tenant>) -> Attempt {
    match tenant {
        None => Attempt::Done(ProvisionOutcome::TenantInactive),
        Some(t) if !t.is_active() => Attempt::Done(ProvisionOutcome::TenantInactive),
        Some(t) if !t.has_free_seat() => Attempt::Done(ProvisionOutcome::SeatLimitReached),
        // Changed between the transaction and the read: a seat was freed meanwhile.
        Some(_) => {
            Attempt::Retry("tenant condition failed but the tenant has a free seat now".into())
        }
    }
}

fn reason_codes(reasons: &[CancellationReason]) -> String {
    reasons
        .iter()
        .map(|r| r.code().unwrap_or("?"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::model::{Membership, MembershipStatus, Tenant, TenantStatus};
    use crate::store::dynamo::codec::s;
    use crate::store::dynamo::codec::tests::tenant;

    #[test]
    fn provisioning_transaction_lists_items_in_slot_order() {
        let m = Membership {
            user_pool_id: "p".into(),
            sub: "s".into(),
            tenant_id: "acme".into(),
            roles: vec!["member".into()],
            status: MembershipStatus::Active,
            source: "invitation".into(),
            created_at: 1,
        };
        let with_invite = ProvisionRequest {
            membership: m.clone(),
            invitation_tenant_id: Some("acme".into()),
            invitation_email: Some("A@Acme.Example".into()),
        };
        let items = provision_items("t", &with_invite).unwrap();
        let slots: Vec<Slot> = items.iter().map(|(s, _)| *s).collect();
        assert_eq!(
            slots,
            [
                Slot::Membership,
                Slot::Guard,
                Slot::Invitation,
                Slot::Tenant
            ]
        );
        let used = items[2].1.update().unwrap();
        assert_eq!(used.key()[keys::PK], s("INVITE#p#a@acme.example"));
        assert_eq!(
            used.update_expression(),
            "SET #usedBy = :sub, #usedAt = :now REMOVE #expires"
        );
        assert_eq!(used.expression_attribute_values().unwrap()[":sub"], s("s"));
        let without = ProvisionRequest {
            membership: m,
            invitation_tenant_id: None,
            invitation_email: None,
        };
        let slots: Vec<Slot> = provision_items("t", &without)
            .unwrap()
            .iter()
            .map(|(s, _)| *s)
            .collect();
        assert_eq!(slots, [Slot::Membership, Slot::Guard, Slot::Tenant]);
    }

    fn reason(code: &str) -> CancellationReason {
        CancellationReason::builder().code(code).build()
    }

    #[test]
    fn cancellation_reasons_are_read_by_item_position() {
        use Cancellation::*;
        let three = [Slot::Membership, Slot::Invitation, Slot::Tenant];
        let two = [Slot::Membership, Slot::Tenant];
        let ccf = "ConditionalCheckFailed";

        // Membership first: the other failures are consequences of the first provisioning.
        let r = [reason(ccf), reason(ccf), reason(ccf)];
        assert_eq!(classify_cancellation(&three, &r), AlreadyMember);
        let r = [reason(ccf), reason("None")];
        assert_eq!(classify_cancellation(&two, &r), AlreadyMember);
        // A conflict anywhere is retried before other conditions are believed.
        let r = [reason("None"), reason("TransactionConflict"), reason(ccf)];
        assert_eq!(classify_cancellation(&three, &r), Conflict);
        let r = [reason("None"), reason(ccf), reason(ccf)];
        assert_eq!(classify_cancellation(&three, &r), InvitationGone);
        // The same tenant failure at index 1 when there is no invitation item.
        let r = [reason("None"), reason(ccf)];
        assert_eq!(classify_cancellation(&two, &r), TenantRefused);
        let r = [reason("None"), reason("None"), reason(ccf)];
        assert_eq!(classify_cancellation(&three, &r), TenantRefused);
        let r = [reason("None"), reason("ThrottlingError")];
        assert_eq!(classify_cancellation(&two, &r), Other);
        assert_eq!(
            classify_cancellation(&three, &[reason(ccf)]),
            Other,
            "reasons must match the items"
        );
    }

    #[test]
    fn a_refusing_tenant_is_inactive_or_full() {
        let suspended = tenant();
        assert_eq!(
            tenant_refusal(None),
            Attempt::Done(ProvisionOutcome::TenantInactive)
        );
        assert_eq!(
            tenant_refusal(Some(&suspended)),
            Attempt::Done(ProvisionOutcome::TenantInactive)
        );
        let full = Tenant {
            status: TenantStatus::Active,
            user_count: 5,
            ..tenant()
        };
        assert_eq!(
            tenant_refusal(Some(&full)),
            Attempt::Done(ProvisionOutcome::SeatLimitReached)
        );
        let freed = Tenant {
            user_count: 4,
            ..full
        };
        assert!(matches!(tenant_refusal(Some(&freed)), Attempt::Retry(_)));
    }
}
