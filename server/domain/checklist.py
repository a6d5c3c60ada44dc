"""The readiness checklist is versioned data: a visit names the version its answers follow."""

from __future__ import annotations

from dataclasses import dataclass

from server.domain.errors import InvalidInputError


@dataclass(frozen=True)
class ChecklistItem:
    key: str
    label_id: str
    label_en: str


@dataclass(frozen=True)
class Checklist:
    version: int
    items: tuple[ChecklistItem, ...]

    def keys(self) -> tuple[str, ...]:
        """Item keys in display order."""
        return tuple(item.key for item in self.items)

    def check_answers(self, answers: dict[str, bool]) -> None:
        """Every item answered, nothing unknown: a partial checklist would make readiness meaningless."""
        unknown = sorted(set(answers) - set(self.keys()))
        if unknown:
            raise InvalidInputError(f"Checklist v{self.version} has no item(s) {', '.join(unknown)}.", "checklist")
        missing = [key for key in self.keys() if key not in answers]
        if missing:
            raise InvalidInputError(
                f"Checklist v{self.version} item(s) not answered: {', '.join(missing)}.", "checklist"
            )

    def readiness(self, answers: dict[str, bool]) -> float:
        """Share of items answered yes, 0.0 to 1.0."""
        if not self.items:
            return 0.0
        return sum(1 for key in self.keys() if answers.get(key)) / len(self.items)


# From the KPU coordination meeting: what a committee must have done before election day.
CHECKLISTS: dict[int, Checklist] = {
    1: Checklist(
        version=1,
        items=(
            ChecklistItem("dpt_announced", "DPT telah diumumkan kepada publik", "Voter list (DPT) publicly announced"),
            ChecklistItem("dptb_socialised", "Prosedur DPTb telah disosialisasikan", "DPTb procedure socialised"),
            ChecklistItem(
                "unregistered_told_where",
                "Warga yang belum terdaftar tahu ke mana melapor",
                "Unregistered residents told where to report",
            ),
            ChecklistItem(
                "bimtek_done", "Bimbingan teknis (bimtek) telah dilaksanakan", "Technical training (bimtek) done"
            ),
            ChecklistItem(
                "integrity_pledge_signed",
                "Pakta integritas/netralitas ditandatangani semua anggota",
                "Neutrality/integrity pledge signed by all members",
            ),
            ChecklistItem("logistics_ready", "Logistik siap", "Logistics ready"),
            ChecklistItem("service_desk_open", "Posko/layanan pemilih buka", "Service desk open"),
            ChecklistItem(
                "disability_access",
                "Akses bagi pemilih penyandang disabilitas tersedia",
                "Access for voters with disabilities",
            ),
        ),
    ),
}
CURRENT_CHECKLIST_VERSION = max(CHECKLISTS)


def checklist(version: int) -> Checklist:
    """The checklist of a given version, or a clear error for an unknown one."""
    try:
        return CHECKLISTS[version]
    except KeyError:
        raise InvalidInputError(f"Unknown checklist version {version}.", "checklist_version") from None
