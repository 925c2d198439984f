//! Replaced dependents go first: before an object is changed in place or replaced, the
//! objects that depend on it and that the plan replaces delete-then-create are deleted,
//! as Terraform orders them ("an object being deleted must be destroyed before updating
//! an object on which it depended"). Their creates stay at their own nodes, after the
//! change. Without this, renaming an IAM group in place before deleting the membership
//! that names it leaves the old members in the renamed group.

use super::*;

impl Runner<'_> {
    /// Deletes, before `addr`'s own operation, every instance that state records as
    /// depending on it and that the reviewed plan replaces delete-then-create. Each is
    /// deleted once (several of its dependencies may change at the same moment) and
    /// removed from state; its node then only creates it (see [`Runner::early_deleted`]).
    pub(super) async fn delete_replaced_dependents(
        &self,
        addr: &InstanceAddr,
    ) -> Result<(), EngineError> {
        let Some(planned) = self.phase.planned_actions() else {
            return Ok(());
        };
        let resource = addr.config_resource();
        let dependents: Vec<(InstanceAddr, InstanceState)> = {
            let store = self.recorder.state().await;
            store
                .state
                .instances
                .iter()
                .filter(|(a, s)| {
                    *a != addr
                        && planned.get(*a) == Some(&Action::DeleteThenCreate)
                        && s.dependencies.contains(&resource)
                })
                .map(|(a, s)| (a.clone(), s.clone()))
                .collect()
        };
        if dependents.is_empty() {
            return Ok(());
        }
        // Held across the deletes: a dependent two changing objects share is deleted once.
        let mut deleted = self.early_deleted.lock().await;
        for (dependent, recorded) in dependents {
            if deleted.contains_key(&dependent) {
                continue;
            }
            let rt = self.resource_type_of(&dependent).await?;
            let prior = recorded_value(rt.as_ref(), &dependent, &recorded)?;
            self.call(&dependent, OpKind::Destroying, false, rt.delete(&prior))
                .await?;
            self.recorder.record(&dependent, None).await?;
            deleted.insert(dependent, prior);
        }
        Ok(())
    }

    /// The resource type of a configured instance, from its block's provider.
    async fn resource_type_of(
        &self,
        addr: &InstanceAddr,
    ) -> Result<Arc<dyn ResourceType>, EngineError> {
        let missing = || {
            EngineError::new(
                ErrorKind::Internal,
                format!("{addr}: planned for replacement but not in the configuration"),
            )
        };
        let (m, rb) = self
            .graph
            .block(&addr.config_resource())
            .ok_or_else(missing)?;
        let (provider, _) = self
            .block_provider(m, rb)
            .await
            .map_err(|mut e| e.pop().unwrap_or_else(missing))?;
        provider.resource_type(&rb.type_name).ok_or_else(missing)
    }
}
