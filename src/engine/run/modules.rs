//! Module calls: expanding a `module` block's count/for_each into module instances, each with its own scope.

use super::*;

impl Runner<'_> {
    /// Expands a `module` block in every instance of its caller: evaluates count/for_each,
    /// makes a scope per child instance, and a placeholder `module.<name>` in the caller
    /// that the child's outputs fill in.
    pub(super) fn expand_module(&self, c: usize) -> Result<(), EngineError> {
        let entry = &self.graph.modules[c];
        let Some((parent, call)) = &entry.parent else {
            return Ok(());
        };
        let callers = lock(&self.expansions)
            .get(parent)
            .cloned()
            .unwrap_or_default();
        let mut children = Vec::new();
        for caller in callers {
            let what = format!("{}: module.{}", self.place(&caller.path), call.name);
            let keys = self.with_scope(&caller.path, |scope| {
                expansion_keys(call.count.as_ref(), call.for_each.as_ref(), scope, &what)
            })?;
            let empty = || Value::Object(BTreeMap::new());
            let placeholder = if call.count.is_some() {
                Value::Tuple(keys.iter().map(|_| empty()).collect())
            } else if call.for_each.is_some() {
                Value::Object(keys.iter().map(|(k, _)| (key_string(k), empty())).collect())
            } else {
                empty()
            };
            self.with_scope(&caller.path, |scope| {
                set_attr(&mut scope.roots, "module", &call.name, placeholder)
            });
            for (key, binding) in keys {
                let mut path = caller.path.clone();
                path.push((call.name.clone(), key));
                lock(&self.scopes)
                    .insert(path.clone(), module_scope(self.run.unit, &entry.module.dir));
                children.push(ModInst { path, binding });
            }
        }
        lock(&self.expansions).insert(c, children);
        Ok(())
    }
}
