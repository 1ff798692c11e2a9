from enum import StrEnum


class ParticipantState(StrEnum):
    ACCEPTED = "accepted"
    DECLINED = "declined"
    INVITED = "invited"
    LEFT = "left"
    REMOVED = "removed"
    WITHDRAWN = "withdrawn"

    def __str__(self) -> str:
        return str(self.value)
