//! Who the learner is to the room: a random id and a pseudonym, both made once and kept in
//! `exercises/.room/`, so that every verify lands in the same row of the page. The pseudonym
//! is the learner's choice (`ROOM_NAME=…`, kept from then on) or a random one such as
//! `amber-heron-17`; the login name is never read.

use std::io;
use std::path::{Path, PathBuf};

use crate::files;
use crate::report::{Id, Invalid, Name};

const ADJECTIVES: [&str; 24] = [
    "amber", "azure", "brisk", "calm", "clever", "coral", "dapper", "eager", "fuzzy", "gentle",
    "golden", "happy", "jade", "keen", "lucky", "mellow", "nimble", "olive", "plucky", "quiet",
    "rapid", "silver", "sunny", "swift",
];
const ANIMALS: [&str; 24] = [
    "badger", "beaver", "bison", "crane", "dingo", "eagle", "ferret", "gecko", "heron", "ibex",
    "koala", "lemur", "lynx", "marmot", "newt", "otter", "owl", "panda", "puffin", "quokka",
    "raven", "seal", "tapir", "wombat",
];

/// The learner as the room knows them.
#[derive(Debug, Clone, PartialEq)]
pub struct Learner {
    pub id: Id,
    pub name: Name,
}

/// Why the learner's files cannot be read or made.
#[derive(Debug, thiserror::Error)]
pub enum LearnerError {
    #[error("{}: {source}", path.display())]
    Io { path: PathBuf, source: io::Error },
    #[error("{}: {source}", path.display())]
    Invalid { path: PathBuf, source: Invalid },
    #[error("ROOM_NAME: {0}")]
    Chosen(Invalid),
    #[error("no random numbers from the operating system: {0}")]
    Random(getrandom::Error),
}

/// A random pseudonym: one of 24 × 24 × 90 (about 52,000).
pub fn random_name() -> Result<Name, LearnerError> {
    let mut bytes = [0u8; 3];
    getrandom::fill(&mut bytes).map_err(LearnerError::Random)?;
    let adjective = ADJECTIVES[usize::from(bytes[0]) % ADJECTIVES.len()];
    let animal = ANIMALS[usize::from(bytes[1]) % ANIMALS.len()];
    let number = 10 + u32::from(bytes[2]) % 90;
    Name::parse(&format!("{adjective}-{animal}-{number}")).map_err(LearnerError::Chosen)
}

impl Learner {
    /// The learner kept in `dir`, made there the first time. `chosen`, when given, becomes
    /// (and stays) the pseudonym.
    pub fn load_or_create(dir: &Path, chosen: Option<&str>) -> Result<Learner, LearnerError> {
        let id_path = dir.join("learner");
        let id = match read_trimmed(&id_path)? {
            Some(text) => Id::parse(&text, "learner").map_err(|source| LearnerError::Invalid {
                path: id_path.clone(),
                source,
            })?,
            None => {
                let id = Id::random().map_err(LearnerError::Random)?;
                write(&id_path, id.as_str())?;
                id
            }
        };
        let name_path = dir.join("name");
        let name = match (chosen, read_trimmed(&name_path)?) {
            (Some(chosen), kept) => {
                let name = Name::parse(chosen.trim()).map_err(LearnerError::Chosen)?;
                if kept.as_deref() != Some(name.as_str()) {
                    write(&name_path, name.as_str())?;
                }
                name
            }
            (None, Some(kept)) => Name::parse(&kept).map_err(|source| LearnerError::Invalid {
                path: name_path.clone(),
                source,
            })?,
            (None, None) => {
                let name = random_name()?;
                write(&name_path, name.as_str())?;
                name
            }
        };
        Ok(Learner { id, name })
    }
}

fn read_trimmed(path: &Path) -> Result<Option<String>, LearnerError> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(Some(text.trim().to_owned())),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(LearnerError::Io {
            path: path.to_owned(),
            source,
        }),
    }
}

fn write(path: &Path, text: &str) -> Result<(), LearnerError> {
    files::write_whole(path, format!("{text}\n").as_bytes()).map_err(|source| LearnerError::Io {
        path: path.to_owned(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn made_once_then_kept() {
        let dir = tempfile::tempdir().unwrap();
        let first = Learner::load_or_create(dir.path(), None).unwrap();
        let again = Learner::load_or_create(dir.path(), None).unwrap();
        assert_eq!(first, again);
        let login = std::env::var("USER").unwrap_or_default();
        assert_ne!(first.name.as_str(), login);
        assert_eq!(first.name.as_str().split('-').count(), 3, "{}", first.name);
    }

    #[test]
    fn a_chosen_name_is_checked_and_kept() {
        let dir = tempfile::tempdir().unwrap();
        let id = Learner::load_or_create(dir.path(), None).unwrap().id;
        let chosen = Learner::load_or_create(dir.path(), Some("ada")).unwrap();
        assert_eq!((chosen.id, chosen.name.as_str()), (id, "ada"));
        assert_eq!(
            Learner::load_or_create(dir.path(), None)
                .unwrap()
                .name
                .as_str(),
            "ada"
        );
        let e = Learner::load_or_create(dir.path(), Some("<b>ada</b>")).unwrap_err();
        assert!(e.to_string().starts_with("ROOM_NAME: name: 1 to 24"), "{e}");
    }
}
