"""The names generated records draw from: projects, coalitions, achievements and people.

Kept apart from the code that draws them (``generate``, ``population``) so that each reads as
what it does. The order of every table is part of the data: the random streams pick by index,
so reordering a table changes the simulated network for a given seed.
"""

# Projects of the main cursus, in the order the generator hands them out.
CURSUS_PROJECT_NAMES = (
    "Libft", "ft_printf", "get_next_line", "Born2beroot", "push_swap", "minitalk", "pipex",
    "so_long", "FdF", "fract-ol", "Philosophers", "minishell", "cub3d", "miniRT", "NetPractice",
    "CPP Module 00", "CPP Module 01", "CPP Module 02", "CPP Module 03", "CPP Module 04",
    "CPP Module 05", "CPP Module 06", "CPP Module 07", "CPP Module 08", "CPP Module 09", "ft_irc",
    "webserv", "Inception", "ft_transcendence", "Exam Rank 02", "Exam Rank 03", "Exam Rank 04",
    "Exam Rank 05", "Exam Rank 06", "Python Module 00", "Internship I", "Internship II",
    "Work Experience I", "Open Project", "ft_ping", "ft_traceroute", "ft_nmap", "Malloc", "ft_ls",
    "ft_ssl_md5", "Taskmaster", "Matt Daemon", "ft_linux", "little-penguin-1", "Kfs-1", "Kfs-2",
    "ft_otp", "Inquisitor", "Stockholm", "Tinky-Winkey", "ft_onion", "Arachnida", "Vaccine",
    "Iron Dome", "Ready set boole", "matrix", "computorv1", "ft_linear_regression", "DSLR",
    "Multilayer Perceptron", "Total perspective vortex", "Leaffliction", "scop", "Humangl",
    "guimp", "ft_vox", "Particle System", "Shaderpixel",
)  # fmt: skip

# Words for made-up project names, addresses and titles.
WORDS = (
    "alpha", "binary", "cipher", "daemon", "engine", "forge", "graph", "hash", "index", "jit",
    "kernel", "lexer", "matrix", "node", "orbit", "parser", "query", "router", "socket", "thread",
    "union", "vector", "worker", "yield", "zephyr", "beacon", "comet", "delta", "ember", "flux",
)  # fmt: skip

# Coalition names (the two "Analysts" are named apart).
COALITION_NAMES = (
    "The Order", "The Federation", "The Alliance", "The Assembly", "Gryffindor", "Slytherin",
    "Ravenclaw", "Hufflepuff", "Wolf", "Oryx", "Leopard", "Falcon", "Al-Booma", "Al-Maha",
    "Al-Shaheen", "Al-Theeb", "Tatooine", "Hoth", "Endor", "Dagobah", "Fire", "Water", "Earth",
    "Air", "Pandora", "Metropolis", "Atlantis", "Gotham", "Phoenix", "Hydra", "Kraken", "Titan",
)  # fmt: skip

# Achievement names (some get their id appended).
ACHIEVEMENT_NAMES = (
    "Welcome, Cadet !", "Code Explorer", "Perfectionist", "Bonus Hunter", "Sprinter",
    "Social Butterfly", "Rigorous Basterd", "I found the answer", "I am the answer",
    "Who's the boss ?", "Genial Organizer", "Film buff", "Bookworm", "Attendee", "Home is where",
    "Curious", "Master of the basics", "Advanced Master", "Grand Master of all things",
    "Worker of the month", "Love me, I'm famous", "Rigorous", "Dedicated", "Night owl",
)  # fmt: skip

# People's first names.
FIRST_NAMES = (
    "Alice", "Bilal", "Chloe", "Dmitri", "Elif", "Farah", "Gustavo", "Hana", "Ibrahim", "Jade",
    "Kenji", "Lina", "Mehdi", "Nora", "Oscar", "Priya", "Quentin", "Rania", "Sven", "Thao", "Ugo",
    "Valeria", "Wassim", "Xiao", "Yara", "Zoe", "Amine", "Beatriz", "Cyril", "Dalia",
)  # fmt: skip

# People's last names.
LAST_NAMES = (
    "Martin", "Haddad", "Kim", "Novak", "Silva", "Dubois", "Yilmaz", "Tanaka", "Okafor", "Rossi",
    "Garcia", "Nguyen", "Bernard", "Kowalski", "Ibrahim", "Moreau", "Sato", "Costa", "Larsen",
    "Petit", "Benali", "Fischer", "Lopez", "Park", "Mensah", "Roux", "Suzuki", "Popescu",
)  # fmt: skip
