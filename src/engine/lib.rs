//! forge's engine. IMPLEMENTATION OWNER: the engine helper.
