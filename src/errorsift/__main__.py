from errorsift.cli import main

main()
