//! Interned ACL lists, referred to by a 4-byte id from each node instead of a 16-byte `Arc`,
//! as ZooKeeper's ReferenceCountedACLCache does. Nearly every node shares one of a few lists.

use std::collections::HashMap;
use std::sync::Arc;

use crate::proto::records::Acl;

/// Index of an interned ACL list.
pub type AclId = u32;

#[derive(Debug)]
pub struct AclTable {
    lists: Vec<Option<Arc<[Acl]>>>,
    ids: HashMap<Arc<[Acl]>, AclId>,
    free: Vec<AclId>,
    /// Answered for an id that is not interned: no entry means nobody is allowed anything.
    none: Arc<[Acl]>,
}

impl Default for AclTable {
    fn default() -> Self {
        AclTable {
            lists: Vec::new(),
            ids: HashMap::new(),
            free: Vec::new(),
            none: Arc::from(Vec::new()),
        }
    }
}

impl AclTable {
    /// The id of `acl`, adding it if no node used it yet.
    pub fn intern(&mut self, acl: Vec<Acl>) -> AclId {
        if let Some(id) = self.ids.get(acl.as_slice()) {
            return *id;
        }
        let list: Arc<[Acl]> = acl.into();
        let id = match self.free.pop() {
            Some(id) => {
                if let Some(slot) = self.lists.get_mut(id as usize) {
                    *slot = Some(list.clone());
                }
                id
            }
            None => {
                self.lists.push(Some(list.clone()));
                (self.lists.len() - 1) as AclId
            }
        };
        self.ids.insert(list, id);
        id
    }

    pub fn get(&self, id: AclId) -> &Arc<[Acl]> {
        self.lists
            .get(id as usize)
            .and_then(Option::as_ref)
            .unwrap_or(&self.none)
    }

    /// Number of id slots, interned or free; ids are below it.
    pub fn capacity(&self) -> usize {
        self.lists.len()
    }

    /// Interned lists in id order.
    pub fn iter(&self) -> impl Iterator<Item = (AclId, &Arc<[Acl]>)> {
        self.lists
            .iter()
            .enumerate()
            .filter_map(|(i, l)| l.as_ref().map(|l| (i as AclId, l)))
    }

    /// Forgets every list whose id `used` does not mark.
    pub fn retain(&mut self, used: impl Fn(AclId) -> bool) {
        for (i, slot) in self.lists.iter_mut().enumerate() {
            let id = i as AclId;
            if slot.is_some() && !used(id) {
                if let Some(list) = slot.take() {
                    self.ids.remove(&list);
                }
                self.free.push(id);
            }
        }
    }

    pub fn len(&self) -> usize {
        self.ids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tree::acl::{open_acl, read_acl};

    #[test]
    fn equal_lists_share_an_id_and_freed_ids_are_reused() {
        let mut t = AclTable::default();
        let open = t.intern(open_acl());
        let read = t.intern(read_acl());
        assert_eq!(t.intern(open_acl()), open);
        assert_ne!(open, read);
        assert_eq!(&**t.get(read), read_acl().as_slice());
        t.retain(|id| id == read);
        assert_eq!(t.len(), 1);
        assert!(t.get(open).is_empty());
        assert_eq!(t.intern(open_acl()), open);
        assert_eq!(&**t.get(open), open_acl().as_slice());
    }
}
