from gongshu.cli import main

main()
