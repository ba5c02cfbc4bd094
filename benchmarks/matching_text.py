"""The mess of real payments for the matching benchmark: names, references, scenarios."""

from __future__ import annotations

import datetime as dt
import random

FIRST = [
    "Acme",
    "Nordic",
    "Blue",
    "Zenith",
    "Apex",
    "Summit",
    "Harbor",
    "Pioneer",
    "Alpine",
    "Cedar",
    "Crescent",
    "Delta",
    "Eagle",
    "Falcon",
    "Granite",
    "Horizon",
    "Iron",
    "Juniper",
    "Keystone",
    "Lakeside",
    "Maple",
    "Meridian",
    "Northstar",
    "Oak",
    "Orion",
    "Pacific",
    "Phoenix",
    "Quantum",
    "Redwood",
    "Riverside",
    "Sapphire",
    "Sierra",
    "Silver",
    "Solar",
    "Sterling",
    "Summit",
    "Titan",
    "Union",
    "Vertex",
    "Vista",
    "Willow",
    "Atlas",
    "Beacon",
    "Bright",
    "Canyon",
    "Cobalt",
    "Coastal",
    "Crystal",
    "Diamond",
    "Echo",
    "Emerald",
    "Evergreen",
    "Frontier",
    "Galaxy",
    "Golden",
    "Heritage",
    "Highland",
    "Infinity",
    "Liberty",
    "Lunar",
    "Magnolia",
    "Metro",
    "Midland",
    "Monarch",
    "Nova",
    "Olympus",
    "Omega",
    "Pinnacle",
    "Polar",
    "Prime",
    "Radiant",
    "Royal",
    "Sunrise",
    "Swift",
    "Thunder",
    "Tidewater",
    "Trinity",
    "Urban",
    "Valley",
    "Victory",
    "Westwind",
    "Yellowstone",
    "Zephyr",
    "Aurora",
    "Bergmann",
    "Schneider",
    "Fischer",
    "Weber",
    "Meyer",
    "Wagner",
    "Becker",
    "Hoffmann",
    "Schulz",
    "Koch",
    "Richter",
    "Klein",
    "Wolf",
    "Neumann",
    "Schwarz",
    "Zimmermann",
    "Braun",
    "Krueger",
    "Hofmann",
    "Hartmann",
    "Lange",
    "Werner",
    "Krause",
    "Lehmann",
    "Koehler",
    "Dupont",
    "Martin",
    "Bernard",
    "Dubois",
    "Moreau",
    "Laurent",
    "Simon",
    "Michel",
    "Lefebvre",
    "Leroy",
    "Roux",
    "Rossi",
    "Russo",
    "Ferrari",
    "Esposito",
    "Bianchi",
    "Romano",
    "Colombo",
    "Ricci",
    "Marino",
    "Greco",
    "Jansen",
    "Visser",
    "Smit",
    "Bakker",
    "Mulder",
    "Bos",
    "Vos",
    "Peters",
    "Hendriks",
    "Dekker",
    "Brouwer",
    "Smith",
    "Jones",
    "Taylor",
    "Brown",
    "Williams",
    "Wilson",
    "Johnson",
    "Davies",
    "Evans",
    "Thomas",
    "Roberts",
    "Walker",
    "Wright",
    "Thompson",
    "Hughes",
    "Edwards",
    "Green",
    "Hall",
    "Wood",
    "Harris",
    "Lewis",
    "Clarke",
]
SECOND = [
    "Widgets",
    "Timber",
    "Foods",
    "Logistics",
    "Consulting",
    "Software",
    "Systems",
    "Engineering",
    "Holdings",
    "Trading",
    "Media",
    "Design",
    "Solutions",
    "Partners",
    "Industries",
    "Technologies",
    "Services",
    "Pharma",
    "Textiles",
    "Motors",
    "Electric",
    "Energy",
    "Construction",
    "Architects",
    "Analytics",
    "Bakery",
    "Brewing",
    "Capital",
    "Chemicals",
    "Dental",
    "Digital",
    "Freight",
    "Furniture",
    "Gardens",
    "Graphics",
    "Health",
    "Hotels",
    "Imports",
    "Instruments",
    "Labs",
    "Legal",
    "Marine",
    "Metals",
    "Mining",
    "Optics",
    "Packaging",
    "Paper",
    "Plastics",
    "Printing",
    "Properties",
    "Retail",
    "Robotics",
    "Security",
    "Shipping",
    "Steel",
    "Studio",
    "Supplies",
    "Telecom",
    "Tools",
    "Travel",
    "Ventures",
    "Wines",
]
SUFFIXES = ("Ltd", "Ltd.", "GmbH", "BV", "B.V.", "SA", "S.A.", "Inc", "LLC", "AG", "SAS", "plc", "")
ABBREV = {"International": "Intl", "Holdings": "Hldgs", "Technologies": "Tech", "Services": "Svcs",
          "Consulting": "Cons", "Engineering": "Eng", "Logistics": "Log", "Industries": "Ind"}  # fmt: skip
SUPPLIERS = ("Amazon EU SARL", "Office World GmbH", "Lyreco UK Ltd", "Dell Technologies BV",
             "Deutsche Telekom AG", "Adobe Systems Software Ireland Ltd")  # fmt: skip
BANKS = ("Deutsche Bank AG", "Barclays Bank PLC", "ING Bank NV", "BNP Paribas SA")


def company_name(rng: random.Random) -> str:
    """A company name like ``"Nordic Timber Holdings GmbH"``."""
    words = [rng.choice(FIRST), rng.choice(SECOND)]
    if rng.random() < 0.25:
        words.insert(1, rng.choice(FIRST))
    if rng.random() < 0.12:
        words.append(rng.choice(("Holdings", "International", "Group", "Europe")))
    suffix = rng.choice(SUFFIXES)
    return " ".join([*words, suffix]) if suffix else " ".join(words)


def iban(rng: random.Random) -> str:
    """A compact IBAN-shaped string (checksums do not matter to the engine)."""
    country = rng.choice(("DE", "DE", "FR", "NL", "GB", "ES", "IT", "BE", "CH", "BH"))
    return f"{country}{rng.randint(10, 99)}{rng.randint(10**17, 10**18 - 1)}"


def spaced(value: str) -> str:
    """An IBAN the way people print it, in groups of four."""
    return " ".join(value[i : i + 4] for i in range(0, len(value), 4))


def misspell(rng: random.Random, name: str) -> str:
    """Drop, double or swap one letter of a longer word."""
    words = name.split()
    long = [i for i, w in enumerate(words) if len(w) > 4]
    if not long:
        return name
    i = rng.choice(long)
    w = words[i]
    j = rng.randrange(1, len(w) - 2)
    kind = rng.randrange(3)
    words[i] = (
        w[:j] + w[j + 1 :]
        if kind == 0
        else w[:j] + w[j] + w[j:]
        if kind == 1
        else w[:j] + w[j + 1] + w[j] + w[j + 2 :]
    )
    return " ".join(words)


def payer_name(rng: random.Random, name: str) -> str:
    """How a customer's name shows up as the counterparty of its payment."""
    r = rng.random()
    if r < 0.35:
        return name
    if r < 0.55:
        return name.upper()
    if r < 0.7:
        return " ".join(
            w for w in name.split() if w.rstrip(".") not in {s.rstrip(".") for s in SUFFIXES if s}
        )
    if r < 0.82:
        return " ".join(ABBREV.get(w, w) for w in name.split()).upper()
    return misspell(rng, name)


def reference(rng: random.Random, number: str) -> str:
    """An invoice number the way customers type it."""
    if number.startswith("INV-"):
        n = number[4:]
        forms = (f"INV-{n}", f"INV{n}", f"inv {n}", f"Invoice no. {n}", f"Inv#{n}", f"INV-00{n}",
                 f"Invoice {n}", f"Rechnung {n}", f"RE {n}", f"inv.{n}", f"Facture N {n}", n)  # fmt: skip
        weights = (20, 10, 8, 8, 6, 5, 8, 4, 3, 3, 2, 8)
    else:
        year, n = number.split("-")
        forms = (
            number,
            f"{year}/{n}",
            f"{year}-{n.lstrip('0')}",
            f"Rechnung {number}",
            f"Inv {year}/{n}",
        )
        weights = (35, 25, 10, 15, 15)
    return rng.choices(forms, weights)[0]


def bury(rng: random.Random, refs: str, payer: str, day: dt.date) -> str:
    """Put references into a realistic remittance line."""
    e2e = f"{day:%Y%m%d}{rng.randint(10000, 99999)}"
    templates = (
        "{r}", "Payment {r}", "{r} thank you", "Invoice {r} - {p}", "EREF+{e} SVWZ+{r}",
        "Payment for services {m} ref {r} kind regards", "/RFB/{r}/", "{p} {r} {d}",
        "SEPA-UEBERWEISUNG EREF: {e} MREF: NOTPROVIDED SVWZ: {r} {d}", "Our ref {e}, your {r}",
    )  # fmt: skip
    return rng.choice(templates).format(
        r=refs, p=payer.upper()[:20], e=e2e, d=f"{day:%d.%m.%Y}", m=f"{day:%B}"
    )


def join_refs(rng: random.Random, numbers: list[str]) -> str:
    """Several invoice numbers in one line."""
    if all(n.startswith("INV-") for n in numbers) and rng.random() < 0.3:
        return "INV " + "/".join(n[4:] for n in numbers)
    sep = rng.choice((", ", " ", " & ", " + ", "; ", " and "))
    return sep.join(reference(rng, n) for n in numbers)


GIVEN = ("John", "Mary", "Peter", "Anna", "James", "Claire", "Thomas", "Sophie", "David",
         "Laura", "Michael", "Emma", "Stefan", "Julia", "Pierre", "Marie")  # fmt: skip
SURNAMES = ("Smith", "Jones", "Taylor", "Brown", "Wilson", "Evans", "Muller", "Schmidt",
            "Fischer", "Weber", "Martin", "Bernard", "Dubois", "Jansen", "De Vries", "Rossi",
            "Walker", "Hughes", "Wright", "Hoffmann", "Koch", "Lefebvre", "Visser", "Moretti")  # fmt: skip


def person_name(rng: random.Random) -> str:
    """A sole trader's name, as an invoice names the customer: ``"John Smith"``."""
    return f"{rng.choice(GIVEN)} {rng.choice(SURNAMES)}"


def name_order(rng: random.Random, name: str) -> str:
    """How a bank shows a person's name: surname first, initials, a comma, upper case."""
    given, surname = name.split(" ", 1)
    forms = (
        f"{surname.upper()} {given[0]}", f"{given[0]}. {surname}", f"{surname}, {given}",
        f"{given.upper()} {surname.upper()}", f"{surname.upper()} {given.upper()}",
        f"{given[0]} {surname}", f"Mr {given[0]} {surname}",
    )  # fmt: skip
    return rng.choice(forms)


def noisy_line(rng: random.Random, ref: str, day: dt.date, account: str | None) -> str:
    """A reference among other numbers: order and phone numbers, dates, IBAN fragments."""
    noise = [
        f"Order {rng.randint(10000, 999999)}",
        f"Tel +44 {rng.randint(20, 79)} {rng.randint(1000, 9999)} {rng.randint(1000, 9999)}",
        f"{day:%d.%m.%Y}",
        f"{day:%Y-%m-%d}",
        f"PO {rng.randint(100000, 9999999)}",
        f"IBAN {(account or iban(rng))[:4]}...{(account or iban(rng))[-4:]}",
        f"Cust {rng.randint(100, 99999)}",
        f"Qty {rng.randint(1, 40)}",
    ]
    parts = rng.sample(noise, rng.randint(2, 4))
    parts.insert(rng.randint(0, len(parts)), ref)
    sep = rng.choice((" / ", " ", ", ", " | "))
    if rng.random() < 0.3:  # structured and unstructured remittance, joined on import
        return (
            f"RF{rng.randint(10, 99)} {rng.randint(1000, 9999)} {rng.randint(1000, 9999)} / "
            + sep.join(parts)
        )
    return sep.join(parts)
