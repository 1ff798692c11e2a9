from enum import StrEnum


class ParticipantKind(StrEnum):
    PHONE = "phone"
    USER = "user"

    def __str__(self) -> str:
        return str(self.value)
