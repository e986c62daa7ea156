"""Plausible Indonesian (north-coast Javanese) names, addresses and phone numbers.

Everything is derived from an integer key with :class:`HashDraw`, so a child or family keeps the
same name in every monthly file without the simulator storing the strings.
"""

from __future__ import annotations

from konvergensi_simulator.seeding import HashDraw

BOY_GIVEN = (
    "Abizar", "Adit", "Aditya", "Afkar", "Ahmad", "Akbar", "Alif", "Alvaro", "Arga", "Arkan", "Arsyad",
    "Arjuna", "Athar", "Azka", "Bagas", "Bayu", "Bima", "Bintang", "Daffa", "Danendra", "Dimas", "Dirga",
    "Elang", "Fahri", "Faiz", "Fajar", "Farhan", "Fathan", "Gibran", "Galih", "Hafiz", "Haidar", "Hanif",
    "Ibrahim", "Ilham", "Irfan", "Kenzo", "Keenan", "Khalif", "Lutfi", "Malik", "Naufal", "Nizam", "Rafa",
    "Raffi", "Rafif", "Raka", "Rayyan", "Reyhan", "Rizky", "Sakha", "Satria", "Umar", "Wildan", "Yusuf",
    "Zaidan", "Zidan", "Zayn",
)
GIRL_GIVEN = (
    "Adiba", "Aisyah", "Alesha", "Alya", "Amira", "Anindya", "Arsila", "Aurel", "Azkia", "Azzahra",
    "Bilqis", "Cinta", "Dinda", "Elvina", "Fadhila", "Fatimah", "Hafsah", "Hana", "Humaira", "Inara",
    "Kayla", "Keisha", "Khanza", "Kirana", "Laila", "Maryam", "Nabila", "Nadhira", "Najwa", "Naura",
    "Nayla", "Qiana", "Queena", "Rania", "Salsabila", "Shanum", "Syifa", "Talita", "Tsabita", "Zahra",
    "Zalfa", "Zaskia",
)
BOY_SECOND = (
    "Pratama", "Saputra", "Ramadhan", "Maulana", "Hidayat", "Firmansyah", "Alfarizi", "Prasetyo",
    "Wijaya", "Nugroho", "Setiawan", "Kurniawan", "Al Fatih", "Arrasyid", "Akbar", "Putra", "Adinata",
    "Mahendra", "Syahputra", "Ardiansyah", "Ilyas", "Hakim",
)
GIRL_SECOND = (
    "Aulia", "Ramadhani", "Maharani", "Azzahra", "Khairunnisa", "Rahmawati", "Safitri", "Lestari",
    "Anggraini", "Puspitasari", "Wulandari", "Putri", "Nur Aini", "Az Zahra", "Salsabila", "Kamila",
    "Humaira", "Nafisa", "Fitriani", "Oktaviani",
)
BOY_PREFIX = ("Muhammad", "Moh.", "M.", "Ahmad", "Mochamad")
GIRL_PREFIX = ("Siti", "Nur", "Putri", "Dewi")

ONSETS = ("A", "Ar", "Ka", "Ra", "Na", "Za", "Fa", "Ha", "Sa", "Da", "Ki", "Re", "Al", "Ky", "Ga")
MIDDLES = ("ri", "na", "ki", "fa", "sya", "za", "dhi", "ra", "ni", "le", "vi", "yu", "ta", "ka")
BOY_ENDS = ("n", "r", "l", "an", "o", "el", "ar", "af", "im", "as")
GIRL_ENDS = ("a", "ya", "na", "ra", "sha", "ni", "ta", "lia", "fa", "nda")

MOTHER_GIVEN = (
    "Siti", "Sri", "Nur", "Dewi", "Rina", "Fitri", "Yuni", "Eka", "Dwi", "Lia", "Indah", "Ani", "Umi",
    "Nurul", "Wahyu", "Retno", "Tri", "Ika", "Diah", "Laili", "Ulfa", "Rizka", "Mila", "Novi", "Anis",
    "Ririn", "Khusnul", "Maya", "Ratna", "Lutfiyah", "Zulaikha", "Musyarofah",
)
MOTHER_SECOND = (
    "Aminah", "Wahyuni", "Hidayah", "Lestari", "Susanti", "Khotimah", "Muslikhah", "Khasanah",
    "Muthmainah", "Fadilah", "Rahayu", "Handayani", "Wulandari", "Kusumawati", "Rohmah", "Mukaromah",
    "Safitri", "Puspita", "Nurjanah", "Maghfiroh", "Fatimah", "Sholihah", "Ulfah", "Yulianti",
    "Setyaningsih", "Purwaningsih", "Rosidah", "Zulfa",
)

STREETS = (
    "Jl. Dr. Sutomo", "Jl. Hayam Wuruk", "Jl. Diponegoro", "Jl. Gajah Mada", "Jl. Sriwijaya",
    "Jl. Merdeka", "Jl. Progo", "Jl. Kurinci", "Jl. Jlamprang", "Jl. Urip Sumoharjo", "Jl. Kartini",
    "Jl. Patiunus", "Jl. Wahid Hasyim", "Jl. Perintis Kemerdekaan", "Jl. Ki Mangunsarkoro",
    "Jl. Sultan Agung", "Jl. Seruni", "Jl. Kenanga", "Jl. Slamet", "Jl. Bandung", "Jl. Truntum",
    "Jl. Sampangan", "Jl. Kusuma Bangsa", "Jl. Teratai", "Jl. Pelita", "Jl. Semeru", "Jl. Raya Degayu",
    "Jl. Pantai Sari", "Jl. Batik", "Jl. Nusantara",
)
GANG_NAMES = ("Mawar", "Melati", "Kenanga", "Anggrek", "Cempaka", "Pelita", "Damai", "Rukun", "Sentosa", "Mulya")
ROMAN = ("I", "II", "III", "IV", "V", "VI", "VII")
PHONE_PREFIXES = (
    "0811", "0812", "0813", "0821", "0822", "0823", "0852", "0853", "0857", "0858", "0877", "0878",
    "0881", "0882", "0895", "0896", "0897", "0898",
)


def _invented_given(draw: HashDraw, boy: bool) -> str:
    """A given name built from syllables (modern parents often coin names)."""
    parts = [draw.choice(ONSETS)]
    for _ in range(draw.below(2)):
        parts.append(draw.choice(MIDDLES))
    parts.append(draw.choice(BOY_ENDS if boy else GIRL_ENDS))
    return "".join(parts)


def child_name(key: int, boy: bool) -> str:
    """One to three words, e.g. ``Muhammad Rizky Pratama`` or ``Nayla Azzahra``."""
    draw = HashDraw(key ^ 0xC41D)
    given = _invented_given(draw, boy) if draw.unit() < 0.2 else draw.choice(BOY_GIVEN if boy else GIRL_GIVEN)
    shape = draw.unit()
    if shape < 0.15:
        return given
    second = draw.choice(BOY_SECOND if boy else GIRL_SECOND)
    if shape < 0.75:
        return f"{given} {second}"
    prefix = draw.choice(BOY_PREFIX if boy else GIRL_PREFIX)
    if prefix in (given, second.split()[0]):
        return f"{given} {second}"
    return f"{prefix} {given} {second}"


def mother_name(key: int) -> str:
    draw = HashDraw(key ^ 0x3A7E)
    given = draw.choice(MOTHER_GIVEN)
    if draw.unit() < 0.1:
        return given
    second = draw.choice(MOTHER_SECOND)
    return f"{given} {second}"


def address(key: int) -> str:
    """A street address as cadres write it: ``Jl. Progo Gg. 3 No. 12`` or ``Gang Mawar II No. 7``."""
    draw = HashDraw(key ^ 0xADD5)
    number = 1 + draw.below(120)
    style = draw.unit()
    if style < 0.4:
        return f"{draw.choice(STREETS)} No. {number}"
    if style < 0.75:
        return f"{draw.choice(STREETS)} Gg. {1 + draw.below(12)} No. {number}"
    return f"Gang {draw.choice(GANG_NAMES)} {draw.choice(ROMAN)} No. {number}"


def phone(key: int) -> str:
    draw = HashDraw(key ^ 0xF0E5)
    length = 7 + draw.below(2)
    return f"{draw.choice(PHONE_PREFIXES)}{draw.below(10**length):0{length}d}"
