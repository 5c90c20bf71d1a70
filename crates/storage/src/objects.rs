//! Object storage for immutable files (log segments). All segment I/O goes
//! through `object_store`, so the same code runs on the local filesystem
//! today and on S3-compatible storage when Argus scales out.
//!
//! `object_store`'s local backend does not fsync; [`ObjectStorage::put_durable`]
//! adds the file and directory fsync that "durable before the WAL is
//! released" requires.

use std::path::{Path as FsPath, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use futures::TryStreamExt;
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};

#[derive(Debug, thiserror::Error)]
pub enum ObjectError {
    #[error("object store: {0}")]
    Store(#[from] object_store::Error),
    #[error("filesystem: {0}")]
    Io(#[from] std::io::Error),
}

#[derive(Debug, Clone)]
pub struct ObjectStorage {
    store: Arc<dyn ObjectStore>,
    /// Set for the local backend: the directory paths are relative to, used
    /// to fsync files and directories after writes.
    local_root: Option<PathBuf>,
}

impl ObjectStorage {
    /// Local filesystem storage rooted at `root` (created if missing).
    pub fn local(root: &FsPath) -> Result<ObjectStorage, ObjectError> {
        std::fs::create_dir_all(root)?;
        let store = LocalFileSystem::new_with_prefix(root)?;
        Ok(ObjectStorage { store: Arc::new(store), local_root: Some(root.to_path_buf()) })
    }

    pub fn store(&self) -> Arc<dyn ObjectStore> {
        Arc::clone(&self.store)
    }

    /// Writes a whole object and returns once it is durable.
    ///
    /// On the local backend the file is written here rather than through
    /// `object_store::put`: in steps of [`TRICKLE_BYTES`], each followed by
    /// a data sync, then renamed into place. A segment file written and
    /// synced in one burst makes every WAL fsync issued meanwhile wait for
    /// the whole burst (they share the device's cache flush); in steps, a
    /// WAL fsync waits for one step at most. Readers still go through
    /// `object_store`, which sees an ordinary file.
    pub async fn put_durable(&self, path: &str, data: Bytes) -> Result<u64, ObjectError> {
        let size = data.len() as u64;
        match &self.local_root {
            Some(root) => {
                let file_path = root.join(path);
                tokio::task::spawn_blocking(move || write_trickled(&file_path, &data))
                    .await
                    .map_err(|join| std::io::Error::other(join.to_string()))??;
            }
            None => {
                self.store.put(&Path::from(path), PutPayload::from_bytes(data)).await?;
            }
        }
        Ok(size)
    }

    pub async fn get_range(&self, path: &str, range: std::ops::Range<u64>) -> Result<Bytes, ObjectError> {
        Ok(self.store.get_range(&Path::from(path), range).await?)
    }

    pub async fn get_ranges(&self, path: &str, ranges: &[std::ops::Range<u64>]) -> Result<Vec<Bytes>, ObjectError> {
        Ok(self.store.get_ranges(&Path::from(path), ranges).await?)
    }

    /// Deletes an object; a missing object is not an error.
    pub async fn delete(&self, path: &str) -> Result<(), ObjectError> {
        match self.store.delete(&Path::from(path)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(other) => Err(other.into()),
        }
    }

    /// Every object under `prefix` with its size.
    pub async fn list(&self, prefix: &str) -> Result<Vec<(String, u64)>, ObjectError> {
        let prefix = Path::from(prefix);
        let metas: Vec<_> = self.store.list(Some(&prefix)).try_collect().await?;
        Ok(metas.into_iter().map(|meta| (meta.location.to_string(), meta.size)).collect())
    }
}

/// How much of a file is written between data syncs.
const TRICKLE_BYTES: usize = 1 << 20;

/// Writes `data` to `file_path` durably: a temporary file beside it, written
/// and synced step by step, renamed into place, directory synced.
fn write_trickled(file_path: &FsPath, data: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let Some(parent) = file_path.parent() else {
        return Err(std::io::Error::other(format!("{} has no parent directory", file_path.display())));
    };
    std::fs::create_dir_all(parent)?;
    let mut temporary = file_path.as_os_str().to_owned();
    temporary.push(".partial");
    let temporary = PathBuf::from(temporary);
    let mut file = std::fs::File::create(&temporary)?;
    for step in data.chunks(TRICKLE_BYTES) {
        file.write_all(step)?;
        file.sync_data()?;
    }
    file.sync_all()?;
    drop(file);
    std::fs::rename(&temporary, file_path)?;
    std::fs::File::open(parent)?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn large_objects_are_written_whole_and_leave_no_partial_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let storage = ObjectStorage::local(dir.path()).expect("storage");
        let data: Vec<u8> = (0..3 * TRICKLE_BYTES + 17).map(|i| (i % 251) as u8).collect();
        storage.put_durable("logs/7/dt=1970-01-01/big.parquet", Bytes::from(data.clone())).await.expect("put");
        let listed = storage.list("logs").await.expect("list");
        assert_eq!(listed, vec![("logs/7/dt=1970-01-01/big.parquet".to_string(), data.len() as u64)]);
        let tail = storage.get_range("logs/7/dt=1970-01-01/big.parquet", 3 * TRICKLE_BYTES as u64..data.len() as u64).await.expect("range");
        assert_eq!(&tail[..], &data[3 * TRICKLE_BYTES..]);
    }

    #[tokio::test]
    async fn put_list_read_delete_round_trip() {
        let dir = tempfile::tempdir().expect("tempdir");
        let storage = ObjectStorage::local(dir.path()).expect("storage");
        let size = storage.put_durable("logs/1/a.parquet", Bytes::from_static(b"hello")).await.expect("put");
        assert_eq!(size, 5);
        assert_eq!(storage.list("logs/1").await.expect("list"), vec![("logs/1/a.parquet".to_string(), 5)]);
        assert_eq!(&storage.get_range("logs/1/a.parquet", 1..3).await.expect("range")[..], b"el");
        storage.delete("logs/1/a.parquet").await.expect("delete");
        storage.delete("logs/1/a.parquet").await.expect("deleting twice is fine");
        assert!(storage.list("logs").await.expect("list").is_empty());
    }
}
